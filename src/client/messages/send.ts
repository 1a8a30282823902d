import { createEnvelope, envelopeKey } from '../../inbox/index.ts'
import { utf8 } from '../../shared/bytes.ts'
import { InvalidInputError, LightcafeError } from '../../shared/errors.ts'
import { inboxBatches } from '../inbox-batches.ts'
import { cafeApi, peerApi } from './components.ts'
import { contactOf } from './contacts.ts'
import { MESSAGE_LIMITS } from './model.ts'
import { receiptReaderId } from '../receipts.ts'
import { pruneSent } from './sent.ts'
import type { MessagesComponents } from './components.ts'
import type { Outgoing } from './model.ts'
import type { Contact } from '../../contacts/index.ts'
import type { Envelope } from '../../inbox/index.ts'

// Sending: a message kept in the outbox before its first attempt, then straight to one of the
// recipient's peers, or to every inbox cafe of its contact, retried until one takes it.

export type Route = 'direct' | 'inbox'

/** Checks a message to send (`POST /api/v0/messages` `{to, body}`): an address-sized string and a string. */
export function parseOutgoing (body: Record<string, unknown>): { to: string, text: string } {
  const { to, body: text } = body
  if (typeof to !== 'string' || to.length > 64) throw new InvalidInputError('INVALID_FIELD', 'to must be an account address')
  if (typeof text !== 'string') throw new InvalidInputError('INVALID_FIELD', 'body must be a string')
  return { to, text }
}

/** Sends text to an account: directly if one of its peers answers, else to its inbox cafes. */
export async function send (c: MessagesComponents, to: string, text: string): Promise<{ id: string, route: Route | 'queued' }> {
  // A NUL first is how a receipt's plaintext starts (receipts.ts): no message may look like one.
  if (text.startsWith('\u0000')) throw new InvalidInputError('INVALID_FIELD', 'a message may not start with a NUL character')
  const bytes = utf8.encode(text)
  if (bytes.byteLength > MESSAGE_LIMITS.maxTextBytes) throw new LightcafeError('MESSAGE_TOO_LARGE', `messages are limited to ${MESSAGE_LIMITS.maxTextBytes} bytes`)
  const contact = await contactOf(c, to)
  // Its id says this device reads receipts (receipts.ts): recipients that know it send them.
  const envelope = await createEnvelope(c.init.account(), contact, bytes, c.now(), { id: receiptReaderId() })
  const db = await c.db
  // Earlier messages to this recipient (its receipts wait in a queue of their own).
  const waiting = (await c.outbox.jobs(envelope.to)).length > 0
  const job: Outgoing = { key: envelopeKey(envelope), seq: c.seq(), envelope, attempts: 0, notBefore: 0 }
  // Kept before the first attempt: a crash mid-send retries rather than loses.
  const tx = db.transaction(['outgoing', 'sent'], 'readwrite')
  await tx.objectStore('outgoing').put(job)
  await tx.objectStore('sent').put({ id: envelope.id, to: envelope.to, created: envelope.created, state: 'queued', cafes: [] })
  await tx.done
  void pruneSent(c)
  // Earlier messages to this recipient still wait: this one goes behind them, in order.
  if (waiting) { c.outbox.kick(envelope.to); return { id: envelope.id, route: 'queued' } }
  // One attempt at every route now, for the answer; the message leaves the outbox when one accepted it.
  const [route] = await deliverAll(c, [job])
  await c.outbox.settle([job], [{ state: route != null ? 'done' : 'retry' }])
  if (route == null) c.outbox.kick(envelope.to)
  return { id: envelope.id, route: route ?? 'queued' }
}

/**
 * One attempt at every route for waiting messages to one recipient, oldest first: directly if
 * one of its peers takes the first, else to every inbox cafe of its contact, many envelopes a
 * request (POST /cafe/v1/inbox/batch). A message leaves the outbox (settled by the caller)
 * when a route accepted it.
 */
export async function deliverAll (c: MessagesComponents, jobs: Outgoing[]): Promise<Array<Route | undefined>> {
  const contact = await contactOf(c, jobs[0].envelope.to).catch(() => undefined)
  const routes: Array<Route | undefined> = jobs.map(() => undefined)
  let direct = false
  for (const [k, job] of jobs.entries()) {
    // A peer that took the first message is tried for the rest; one that did not, is not.
    if (k > 0 && !direct) break
    direct = await toPeer(c, job, contact)
    if (direct) routes[k] = 'direct'
  }
  const left = jobs.filter((_, k) => routes[k] == null)
  if (left.length > 0) {
    // Every inbox cafe gets a copy: the recipient may collect from whichever it reaches first.
    const inboxes = contact?.inboxes ?? []
    const accepted = await Promise.all(inboxes.map(async cafe => toCafe(c, cafe, left.map(j => j.envelope))))
    let n = 0
    jobs.forEach((job, k) => {
      if (routes[k] != null) return
      const i = n++
      const stored = inboxes.filter((_, at) => accepted[at][i])
      if (stored.length > 0) routes[k] = 'inbox'
      c.progress.set(job.envelope.id, { state: 'stored', cafes: stored })
    })
  }
  jobs.forEach((job, k) => { if (routes[k] === 'direct') c.progress.set(job.envelope.id, { state: 'delivered', cafes: [] }) })
  return routes
}

/** One delivery call to a peer: its outcome, or why it failed (kept for the outbox view). */
async function attempt<T> (c: MessagesComponents, peer: string, call: () => Promise<T>): Promise<{ ok: true, value: T } | { ok: false, reason?: string }> {
  try {
    return { ok: true, value: await call() }
  } catch (err) {
    c.status.lastFailure = `${peer}: ${(err as Error).message}`
    return { ok: false, ...(err instanceof LightcafeError ? { reason: err.reason } : {}) }
  }
}

/** The message straight to one of the recipient's peers; false when none took it. */
async function toPeer (c: MessagesComponents, job: Outgoing, contact: Contact | undefined): Promise<boolean> {
  for (const peer of contact?.peers ?? []) {
    if (peer === c.init.peerId || (c.unreachable.get(peer) ?? 0) > c.now()) continue
    const sent = await attempt(c, peer, async () => peerApi(c, peer, false).deliver(job.envelope))
    if (sent.ok) { c.unreachable.delete(peer); return true }
    // Absent or not answering: the inbox until it is seen back (see unreachableForMs).
    c.unreachable.set(peer, c.now() + c.limits.unreachableForMs)
  }
  return false
}

/**
 * Delivers envelopes to one cafe: one alone as POST /cafe/v1/inbox, more in batches within
 * the cafe's bounds; a cafe without the batch route (404) gets them one by one. True per
 * envelope the cafe holds now (stored, or held already).
 */
async function toCafe (c: MessagesComponents, cafe: string, envelopes: Envelope[]): Promise<boolean[]> {
  const api = cafeApi(c, cafe)
  const single = async (e: Envelope): Promise<boolean> => (await attempt(c, cafe, async () => api.deliver(e))).ok
  if (envelopes.length === 1) return [await single(envelopes[0])]
  const out: boolean[] = []
  for (const batch of inboxBatches(envelopes)) {
    const sent = await attempt(c, cafe, async () => api.deliverMany(batch))
    if (!sent.ok && sent.reason === 'NOT_FOUND') {
      for (const e of batch) out.push(await single(e))
      continue
    }
    // Only what the cafe answered with a seq is held there; anything else is tried again.
    batch.forEach((e, i) => {
      const r = sent.ok ? sent.value[i] : undefined
      const held = r != null && 'seq' in r && r.id === e.id && typeof r.seq === 'number'
      const refused = r != null && 'error' in r ? r.error?.details : undefined
      if (!held && typeof refused === 'string') c.status.lastFailure = `${cafe}: ${refused}`
      out.push(held)
    })
  }
  return out
}

/** Messages waiting to be delivered (receipts not counted). */
export async function pending (c: MessagesComponents): Promise<number> {
  return (await c.outbox.entries()).filter(e => e.job.receipt !== true).length
}
