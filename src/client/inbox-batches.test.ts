import { describe, expect, it } from 'vitest'
import { INBOX_LIMITS } from '../cafe/inbox/inbox.ts'
import { INBOX_BATCH, inboxBatches } from './inbox-batches.ts'
import type { Envelope } from '../inbox/envelope.ts'

const envelope = (i: number, bodyChars = 10): Envelope => ({ id: `id${i}`, from: 'z6Mkfrom', to: 'z6Mkto', created: '2026-12-02T00:00:00.000Z', body: 'A'.repeat(bodyChars), sig: 'sig' })

describe('inboxBatches', () => {
  it('keeps the order and cuts at the count', () => {
    const all = Array.from({ length: 250 }, (_, i) => envelope(i))
    const batches = inboxBatches(all)
    expect(batches.map(b => b.length)).toEqual([100, 100, 50])
    expect(batches.flat()).toEqual(all)
  })

  it('cuts at the bytes, so each request fits the cafe\'s body bound', () => {
    const all = Array.from({ length: 40 }, (_, i) => envelope(i, 60 * 1024))
    const batches = inboxBatches(all)
    for (const b of batches) expect(JSON.stringify({ envelopes: b }).length).toBeLessThanOrEqual(INBOX_LIMITS.maxBatchBytes)
    expect(batches.length).toBeGreaterThan(1)
    expect(batches.flat()).toEqual(all)
  })

  it('matches the cafe\'s bounds', () => {
    expect(INBOX_BATCH.maxCount).toBe(INBOX_LIMITS.maxBatchCount)
    expect(INBOX_BATCH.maxBytes).toBeLessThan(INBOX_LIMITS.maxBatchBytes)
  })

  it('gives nothing for nothing', () => { expect(inboxBatches([])).toEqual([]) })
})
