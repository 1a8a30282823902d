import { isAddress } from '../../account/index.ts'
import { LightcafeError, UnavailableError } from '../../shared/errors.ts'
import { activeCafes } from './components.ts'
import { PROVEN_INVALID } from './model.ts'
import { receiveMany } from './receive.ts'
import { receiptSettings, sendReceipts } from './sent.ts'
import type { InboxPage } from '../cafe-api.ts'
import type { MessagesComponents } from './components.ts'
import type { MessageRef, ReceivedMessage, ReceiveProblem } from './model.ts'

// Collecting what waits at this account's cafes, and reading what arrived.

/** What a collect came to so far, over every cafe. */
interface Tally { received: number, held: number, problem?: ReceiveProblem }

/**
 * Drains the inbox at every (or one) cafe: pages in arrival order, each page kept, then
 * acknowledged. Only what was stored here, or proven bad, is acknowledged: a message this
 * device could not keep (storage full, clock far off) stays at the cafe for a later collect.
 */
export async function collect (c: MessagesComponents, cafeId?: string): Promise<{ received: number, held: number }> {
  const cafes = cafeId != null ? [cafeId] : await activeCafes(c)
  const tally: Tally = { received: 0, held: 0 }
  const failures: string[] = []
  await Promise.all(cafes.map(async id => {
    try { await drain(c, id, tally) } catch (err) { failures.push(`${id}: ${(err as Error).message}`) }
  }))
  const { received, held, problem } = tally
  // Every cafe answered: what is held now is the whole story.
  if (failures.length === 0) c.status.receiveProblem = problem == null ? undefined : { ...problem, held }
  else if (problem != null) c.status.receiveProblem = { ...problem, held }
  if (failures.length > 0) throw new UnavailableError('CAFE_UNREACHABLE', `${failures.length} of ${cafes.length} inboxes could not be collected (${received} new from the others): ${failures.join('; ')}`)
  return { received, held }
}

/** One cafe's inbox, a page at a time; a page's acknowledgement travels while the next page is asked for. */
async function drain (c: MessagesComponents, id: string, tally: Tally): Promise<void> {
  // Held messages stay in the inbox: page past them by seq rather than from the start again.
  let after = 0
  // The cursor, not the acknowledgement, moves the list on.
  let acking: Promise<void> = Promise.resolve()
  try {
    for (;;) {
      const page = await c.init.client.api(id).inbox({ after, limit: c.limits.pageSize })
      const before = after
      for (const m of page.messages) if (typeof m.seq === 'number' && Number.isSafeInteger(m.seq) && m.seq > after) after = m.seq
      const acks = await keep(c, page.messages, tally)
      await acking
      if (acks.length > 0) acking = ack(c, id, acks)
      // A page that does not move the cursor (no usable seq) would be asked for forever.
      if (!page.more || page.messages.length === 0 || after === before) break
    }
  } finally {
    // Every acknowledgement is answered (or failed) before this cafe counts as collected.
    await acking
  }
}

/** Keeps a page's messages; the names of those to acknowledge: kept here (or already), or proven bad. */
async function keep (c: MessagesComponents, messages: InboxPage['messages'], tally: Tally): Promise<MessageRef[]> {
  const outcomes = await receiveMany(c, messages.map(m => m.envelope), { via: 'cafe' })
  const acks: MessageRef[] = []
  messages.forEach((m, i) => {
    const ref = refOf(m.envelope)
    const outcome = outcomes[i]
    if (!('error' in outcome)) {
      if (outcome.fresh) tally.received++
      if (ref != null) acks.push(ref)
      return
    }
    const err = outcome.error
    const reason = err instanceof LightcafeError ? err.reason : 'STORAGE_ERROR'
    if (PROVEN_INVALID.has(reason)) { if (ref != null) acks.push(ref); return }
    tally.held++
    tally.problem = { reason, details: (err as Error).message, at: new Date(c.now()).toISOString(), held: 0 }
  })
  return acks
}

/** Tells a cafe these messages are safely here (or proven bad): it deletes them. */
export async function ack (c: MessagesComponents, cafeId: string, refs: MessageRef[]): Promise<void> {
  await c.init.client.api(cafeId).ack(refs)
}

/** An envelope's name for an acknowledgement, when what the cafe sent has a usable one. */
function refOf (envelope: unknown): MessageRef | undefined {
  const { from, id } = (typeof envelope === 'object' && envelope != null ? envelope : {}) as { from?: unknown, id?: unknown }
  return isAddress(from) && typeof id === 'string' && /^[A-Za-z0-9_-]{22}$/.test(id) ? { from, id } : undefined
}

/** Received messages, oldest first, each once. Listing them marks them read. */
export async function list (c: MessagesComponents): Promise<ReceivedMessage[]> {
  const db = await c.db
  const rows = await db.getAll('received')
  if (rows.length > 0) {
    // Read now: what strangers delivered no longer counts against their budget.
    const tx = db.transaction('profile', 'readwrite')
    const before = ((await tx.store.get('read')) as number | undefined) ?? 0
    await tx.store.put(rows[rows.length - 1].n!, 'read')
    await tx.store.delete('unsolicited')
    await tx.done
    // Newly read: their senders are told, only if this device sends read receipts (off by default).
    if ((await receiptSettings(c)).readReceipts) {
      const read = new Map<string, string[]>()
      for (const r of rows) if (r.n! > before) read.set(r.from, [...read.get(r.from) ?? [], r.id])
      if (read.size > 0) void sendReceipts(c, 'read', read).catch(() => {})
    }
  }
  return rows.map(({ id, from, body, created, received }) => ({ id, from, body, created, received }))
}

/** Messages received since the list was last read. */
export async function unread (c: MessagesComponents): Promise<number> {
  const db = await c.db
  const read = ((await db.get('profile', 'read')) as number | undefined) ?? 0
  return db.count('received', IDBKeyRange.lowerBound(read, true))
}
