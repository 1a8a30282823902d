import { ENVELOPE_LIMITS, envelopeKey, openEnvelope, verifyEnvelope } from '../../inbox/index.ts'
import { utf8 } from '../../shared/bytes.ts'
import { InvalidInputError, LightcafeError, NotFoundError } from '../../shared/errors.ts'
import { decodeReceipt } from '../receipts.ts'
import { sendReceipts, takeReceipt } from './sent.ts'
import type { MessagesComponents } from './components.ts'
import type { MessagesDB, Prepared, Received, ReceiveOutcome, Unsolicited, Via } from './model.ts'
import type { IDBPDatabase } from 'idb'

// Receiving: envelopes pushed by peers and cafes, or collected, verified and opened, kept once
// per sender and id; direct deliveries from strangers share one budget.

/**
 * An envelope for this account, from a peer delivering directly or a cafe pushing (or a
 * collect). Verified, opened, kept once per sender+id. True if it was new. Direct deliveries
 * from senders not in this device's contacts count against one budget for all of them.
 * Throws LightcafeError: the PROVEN_INVALID reasons when the envelope is bad; CLOCK_SKEW,
 * ENVELOPE_TOO_OLD, INBOX_FULL, STORAGE_FULL or STORAGE_ERROR when it may be good but was not kept.
 */
export async function receive (c: MessagesComponents, value: unknown, opts: { via?: Via } = {}): Promise<boolean> {
  const [outcome] = await receiveMany(c, [value], opts)
  if ('error' in outcome) throw outcome.error
  return outcome.fresh
}

/**
 * receive() for many envelopes (a page collected from a cafe): checked and opened side by
 * side, and all those that pass kept in one transaction, in the order given. One outcome per
 * envelope, in order: `fresh` (stored now) or not (already here), or the error receive()
 * would have thrown. A storage failure fails every envelope of the batch: none was kept.
 */
export async function receiveMany (c: MessagesComponents, values: readonly unknown[], opts: { via?: Via } = {}): Promise<ReceiveOutcome[]> {
  const via = opts.via ?? 'direct'
  const now = c.now()
  const db = await c.db
  const out: ReceiveOutcome[] = new Array(values.length)
  const ready: Array<{ i: number, item: Prepared }> = []
  await Promise.all(values.map(async (value, i) => {
    try {
      const item = await prepare(c, db, value, via, now)
      if (item == null) out[i] = { fresh: false }
      else ready.push({ i, item })
    } catch (err) { out[i] = { error: err } }
  }))
  ready.sort((a, b) => a.i - b.i)
  // Receipts are not messages: they move this device's sent messages on, and are done.
  for (const r of ready.filter(r => r.item.receipt != null)) {
    try { await takeReceipt(c, r.item.record.from, r.item.receipt!); out[r.i] = { fresh: false } } catch (err) { out[r.i] = { error: storageProblem(c, err) } }
  }
  ready.splice(0, ready.length, ...ready.filter(r => r.item.receipt == null))
  if (ready.length === 0) return out
  let outcomes: Array<'stored' | 'duplicate' | 'full'>
  try {
    outcomes = await store(c, db, ready.map(r => r.item), via)
  } catch (err) {
    // A concurrent copy won somewhere (a push during a collect): each on its own, so only that one is "not new".
    if ((err as Error).name === 'ConstraintError' && ready.length > 1) {
      for (const { i } of ready) [out[i]] = await receiveMany(c, [values[i]], opts)
      return out
    }
    if ((err as Error).name === 'ConstraintError') { out[ready[0].i] = { fresh: false }; return out }
    const problem = storageProblem(c, err)
    for (const { i } of ready) out[i] = { error: problem }
    return out
  }
  let fresh = false
  ready.forEach(({ i }, k) => {
    const o = outcomes[k]
    if (o === 'full') out[i] = { error: new LightcafeError('INBOX_FULL', `this device holds its most unread messages (${c.limits.unsolicitedCount}, ${c.limits.unsolicitedBytes} bytes) from senders it does not know; deliver to its cafes`) }
    else { out[i] = { fresh: o === 'stored' }; fresh ||= o === 'stored' }
  })
  if (fresh) c.tell('message')
  // Messages that came through a cafe: their senders learn they were delivered (a direct one's sender knew at once).
  if (via === 'cafe') {
    const delivered = new Map<string, string[]>()
    ready.forEach(({ i, item }) => { if ('fresh' in out[i] && (out[i] as { fresh: boolean }).fresh) delivered.set(item.record.from, [...delivered.get(item.record.from) ?? [], item.record.id]) })
    if (delivered.size > 0) void sendReceipts(c, 'delivered', delivered).catch(() => {})
  }
  return out
}

/** One envelope verified, judged and opened, ready to store; undefined when it is already here. */
async function prepare (c: MessagesComponents, db: IDBPDatabase<MessagesDB>, value: unknown, via: Via, now: number): Promise<Prepared | undefined> {
  // The time is checked here, not in verifyEnvelope: too far ahead says more about the clocks than the message.
  const envelope = await verifyEnvelope(value, { ...ENVELOPE_LIMITS, maxFutureSkewMs: Infinity }, now)
  if (envelope.to !== c.init.account().address) throw new NotFoundError('UNKNOWN_RECIPIENT', 'this peer does not receive for that address')
  const created = Date.parse(envelope.created)
  if (created > now + c.limits.maxFutureSkewMs) throw new LightcafeError('CLOCK_SKEW', `the message was created ${Math.round((created - now) / 60_000)} min ahead of this device's clock; check the clock`)
  if (via === 'direct' && created < now - c.limits.maxDirectAgeMs) throw new InvalidInputError('ENVELOPE_TOO_OLD', 'a direct delivery is at most a week old; older ones go through the recipient\'s cafes')
  const key = envelopeKey(envelope)
  if ((await db.getKeyFromIndex('received', 'key', key)) != null) return undefined
  const bytes = await openEnvelope(c.box().secretKey, envelope)
  const receipt = decodeReceipt(bytes)
  const record: Received = { key, id: envelope.id, from: envelope.from, body: receipt != null ? '' : utf8.decode(bytes), created: envelope.created, received: new Date(now).toISOString() }
  return { record, size: JSON.stringify(envelope).length, unsolicitedIfDirect: envelope.from !== envelope.to, ...(receipt != null ? { receipt } : {}) }
}

/** Keeps prepared envelopes in one transaction: the dedupe, the budget and the writes cannot interleave with another delivery's. */
async function store (c: MessagesComponents, db: IDBPDatabase<MessagesDB>, items: Prepared[], via: Via): Promise<Array<'stored' | 'duplicate' | 'full'>> {
  const tx = db.transaction(['received', 'profile', 'contacts'], 'readwrite')
  const used = ((await tx.objectStore('profile').get('unsolicited')) as Unsolicited | undefined) ?? { count: 0, bytes: 0 }
  const known = new Map<string, boolean>()
  let budgetChanged = false
  const outcomes: Array<'stored' | 'duplicate' | 'full'> = []
  for (const { record, size, unsolicitedIfDirect } of items) {
    let unsolicited = false
    if (via === 'direct' && unsolicitedIfDirect) {
      if (!known.has(record.from)) known.set(record.from, (await tx.objectStore('contacts').getKey(record.from)) != null)
      unsolicited = known.get(record.from) === false
    }
    if ((await tx.objectStore('received').index('key').getKey(record.key)) != null) {
      outcomes.push('duplicate')
    } else if (unsolicited && (used.count + 1 > c.limits.unsolicitedCount || used.bytes + size > c.limits.unsolicitedBytes)) {
      outcomes.push('full')
    } else {
      await tx.objectStore('received').add(record)
      if (unsolicited) { used.count++; used.bytes += size; budgetChanged = true }
      outcomes.push('stored')
    }
  }
  if (budgetChanged) await tx.objectStore('profile').put(used, 'unsolicited')
  await tx.done
  return outcomes
}

/** A storage failure as a named error, recorded for the page: the message stays with its sender or cafe. */
function storageProblem (c: MessagesComponents, err: unknown): LightcafeError {
  const full = (err as Error).name === 'QuotaExceededError'
  const e = full
    ? new LightcafeError('STORAGE_FULL', 'this device\'s storage is full: messages wait at the cafes until space is freed')
    : new LightcafeError('STORAGE_ERROR', `this device could not store a message: ${(err as Error).message}`)
  c.status.receiveProblem = { reason: e.reason, details: e.message, at: new Date(c.now()).toISOString(), held: c.status.receiveProblem?.held ?? 0 }
  // A push that failed is still at the cafe: collect it again later, once.
  c.collectLater()
  return e
}
