import { createEnvelope, envelopeKey } from '../../inbox/index.ts'
import { InvalidInputError } from '../../shared/errors.ts'
import { RECEIPT_LIMITS, advance, encodeReceipt, readsReceipts, receiptChunks } from '../receipts.ts'
import { receiptQueue } from './model.ts'
import type { MessagesComponents } from './components.ts'
import type { Outgoing, ReceiptSettings } from './model.ts'
import type { Receipt, SentRecord } from '../receipts.ts'

// What became of the messages this device sent (as Signal's ticks): its sent records, moved on
// by each attempt's outcome and by the recipients' receipts; and the receipts this device sends.

/** Records how far sent messages got: stored at the cafes that took them, or delivered straight to the recipient's peer. */
export async function sentChanged (c: MessagesComponents, jobs: Outgoing[]): Promise<void> {
  const db = await c.db
  const tx = db.transaction('sent', 'readwrite')
  const at = new Date(c.now()).toISOString()
  let changed = false
  for (const job of jobs) {
    const p = c.progress.get(job.envelope.id)
    c.progress.delete(job.envelope.id)
    const rec = job.receipt === true || p == null ? undefined : await tx.store.get(job.envelope.id)
    if (rec == null || p == null || (p.state === 'stored' && p.cafes.length === 0)) continue
    await tx.store.put(advance(rec, p.state, at, p.cafes))
    changed = true
  }
  await tx.done
  if (changed) c.tell('sent')
}

/** Keeps the newest RECEIPT_LIMITS.keepSent sent records. */
export async function pruneSent (c: MessagesComponents): Promise<void> {
  const db = await c.db
  const n = await db.count('sent')
  if (n <= RECEIPT_LIMITS.keepSent) return
  const tx = db.transaction('sent', 'readwrite')
  let cursor = await tx.store.index('created').openCursor()
  for (let left = n - RECEIPT_LIMITS.keepSent; cursor != null && left > 0; left--) { await cursor.delete(); cursor = await cursor.continue() }
  await tx.done
}

/** The messages this device sent, newest first, with how far each got: queued, stored at N cafes, delivered, read. */
export async function sent (c: MessagesComponents, limit = 200): Promise<SentRecord[]> {
  return (await (await c.db).getAllFromIndex('sent', 'created')).reverse().slice(0, limit)
}

export async function receiptSettings (c: MessagesComponents): Promise<ReceiptSettings> {
  return ((await (await c.db).get('profile', 'receipts')) as ReceiptSettings | undefined) ?? { readReceipts: false }
}

export async function setReceiptSettings (c: MessagesComponents, body: Record<string, unknown>): Promise<ReceiptSettings> {
  if (typeof body.readReceipts !== 'boolean') throw new InvalidInputError('INVALID_FIELD', 'readReceipts must be true or false')
  const settings: ReceiptSettings = { readReceipts: body.readReceipts }
  await (await c.db).put('profile', settings, 'receipts')
  return settings
}

/**
 * Tells senders what became of their messages: one receipt per sender and chunk, queued in the
 * outbox like a message (retried until delivered). A sender whose contact cannot be found
 * gets none: receipts are a courtesy, never a reason to hold anything.
 */
export async function sendReceipts (c: MessagesComponents, kind: Receipt['kind'], ids: Map<string, string[]>): Promise<void> {
  const me = c.init.account().address
  const db = await c.db
  // Only to this account's contacts (people it wrote to or looked up: a stranger learns nothing,
  // not even that the account is alive), and only for messages whose id says their sender reads
  // receipts (an older client would show one as text).
  const wanted = new Map<string, string[]>()
  for (const [from, all] of ids) {
    const asked = all.filter(readsReceipts)
    if (from !== me && asked.length > 0 && (await db.getKey('contacts', from)) != null) wanted.set(from, asked)
  }
  for (const { to, ids: chunk } of receiptChunks(wanted)) {
    const contact = await db.get('contacts', to)
    if (contact == null) continue
    const envelope = await createEnvelope(c.init.account(), contact, encodeReceipt({ kind, ids: chunk }), c.now())
    await db.put('outgoing', { key: envelopeKey(envelope), seq: c.seq(), envelope, attempts: 0, notBefore: 0, receipt: true })
    c.outbox.kick(receiptQueue(to))
  }
}

/** A receipt from `from`: the messages it names that this device sent to `from` move on. */
export async function takeReceipt (c: MessagesComponents, from: string, receipt: Receipt): Promise<void> {
  const db = await c.db
  const tx = db.transaction('sent', 'readwrite')
  const at = new Date(c.now()).toISOString()
  for (const id of receipt.ids) {
    const rec = await tx.store.get(id)
    // Only the account a message went to can tell what became of it.
    if (rec == null || rec.to !== from) continue
    await tx.store.put(advance(rec, receipt.kind, at))
  }
  await tx.done
  c.tell('sent')
}
