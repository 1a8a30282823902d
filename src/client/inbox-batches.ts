import type { Envelope } from '../inbox/envelope.ts'

/**
 * What one POST /cafe/v1/inbox/batch may carry (the cafe's INBOX_LIMITS.maxBatchCount and
 * maxBatchBytes), with room left in the bytes for the wrapping JSON.
 */
export const INBOX_BATCH = { maxCount: 100, maxBytes: 1024 * 1024 - 4096 } as const

/** Envelopes in order, cut into batches that each fit one request; an envelope never straddles two. */
export function inboxBatches (envelopes: readonly Envelope[], limits: { maxCount: number, maxBytes: number } = INBOX_BATCH): Envelope[][] {
  const out: Envelope[][] = []
  let batch: Envelope[] = []
  let bytes = 0
  for (const e of envelopes) {
    // Every field is ASCII (verified before it was queued): string length is the size; +1 for the comma.
    const size = JSON.stringify(e).length + 1
    if (batch.length > 0 && (batch.length >= limits.maxCount || bytes + size > limits.maxBytes)) { out.push(batch); batch = []; bytes = 0 }
    batch.push(e)
    bytes += size
  }
  if (batch.length > 0) out.push(batch)
  return out
}
