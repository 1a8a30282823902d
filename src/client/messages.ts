import { openDB } from 'idb'
import { boxKeyPair } from '../account/box.ts'
import { isNewer, signContact, verifyContact } from '../contacts/index.ts'
import { isAddress } from '../account/index.ts'
import { ENVELOPE_LIMITS, createEnvelope, envelopeKey, openEnvelope, verifyEnvelope } from '../inbox/index.ts'
import { backoff } from '../shared/backoff.ts'
import { Wake } from '../shared/wake.ts'
import { toBase64url, utf8 } from '../shared/bytes.ts'
import { InvalidInputError, LightcafeError, NotFoundError, UnavailableError } from '../shared/errors.ts'
import { CafeApi, PeerApi, bareCall } from './cafe-api.ts'
import { inboxBatches } from './inbox-batches.ts'
import { Outbox } from './outbox.ts'
import { RECEIPT_LIMITS, advance, decodeReceipt, encodeReceipt, receiptChunks } from './receipts.ts'
import type { CafeClient, CafeTransport } from './cafe-client.ts'
import type { Account } from '../account/index.ts'
import type { Contact } from '../contacts/index.ts'
import type { Envelope } from '../inbox/index.ts'
import type { Reason } from '../shared/reasons.ts'
import type { JobOutcome } from './outbox.ts'
import type { Receipt, SentRecord } from './receipts.ts'
import type { DBSchema, IDBPDatabase } from 'idb'

export const MESSAGE_LIMITS = {
  /** A message's text; sealed and base64url-encoded it stays inside the 64 KiB envelope. */
  maxTextBytes: 32 * 1024 - 64,
  /** Inbox pages collected per request: a cafe's largest page and largest acknowledgement (INBOX_LIMITS). */
  pageSize: 500,
  /** Undelivered messages are retried this often (doubling up to the cap). */
  firstRetryMs: 2_000,
  maxRetryMs: 30_000,
  /** One delivery attempt (dial + request) to a peer or cafe. */
  attemptTimeoutMs: 10_000,
  /**
   * A peer that could not be reached directly (its relay said it is not there, or the dial
   * failed) is not tried directly again for this long: messages to it go to its inbox cafes at
   * once, with no dial to wait on. Its return cuts this short: the relays say when it reserves
   * again, and that wake (or the network's) clears it.
   */
  unreachableForMs: 60_000,
  /**
   * Clocks of two devices disagree: a message "created" up to this far ahead of ours is taken.
   * Further ahead is not proof of a bad message either, so it is left at the cafe, not dropped.
   */
  maxFutureSkewMs: 60 * 60_000,
  /**
   * Direct deliveries from senders not in this device's contacts, stored and not yet read: the
   * same bounds as a cafe's inbox (INBOX_LIMITS), for all such senders together, so minting peer
   * ids or accounts (both free) does not buy more. Past them a direct delivery is refused and
   * the sender falls back to the recipient's cafes, which keep it within their own limits.
   */
  unsolicitedCount: 1000,
  unsolicitedBytes: 16 * 1024 * 1024,
  /** A direct delivery older than this is refused (a cafe would have let it expire): a week. */
  maxDirectAgeMs: 7 * 24 * 60 * 60_000,
  /** Messages left at a cafe (storage full, clock far off) are collected again this often. */
  heldRetryMs: 5 * 60_000
} as const

export type MessageLimits = { readonly [K in keyof typeof MESSAGE_LIMITS]: number }

const MESSAGE_RETRY = { firstMs: MESSAGE_LIMITS.firstRetryMs, maxMs: MESSAGE_LIMITS.maxRetryMs }

/** How an envelope reached this device: from any peer directly, or from one of this account's cafes (push or collect). */
export type Via = 'direct' | 'cafe'

/** Why messages were left at a cafe, for the Messages view. */
export interface ReceiveProblem { reason: string, details: string, at: string, held: number }

/**
 * Reasons that prove an envelope bad whatever our state: malformed, forged, not ours, or a body
 * that does not open for us. Only these are acknowledged (deleted at the cafe) without storing.
 */
const PROVEN_INVALID = new Set<Reason>(['INVALID_ENVELOPE', 'BAD_SIGNATURE', 'UNKNOWN_RECIPIENT', 'DECRYPTION_FAILED'])

export interface ReceivedMessage { id: string, from: string, body: string, created: string, received: string }

interface Received extends ReceivedMessage { n?: number, key: string }
/** An undelivered message (or receipt); `seq` keeps the order messages to one recipient were sent in. */
interface Outgoing { key: string, seq: number, envelope: Envelope, attempts: number, notBefore: number, receipt?: true }

/** Whether this device tells senders it read their messages (off by default). */
export interface ReceiptSettings { readReceipts: boolean }

const recipientOf = (job: Outgoing): string => job.envelope.to

interface MessagesDB extends DBSchema {
  received: { key: number, value: Received, indexes: { key: string } }
  contacts: { key: string, value: Contact }
  outgoing: { key: string, value: Outgoing, indexes: { seq: number } }
  /** 'me': this account's contact; 'read': the last read `n`; 'unsolicited': the budget used since; 'receipts': ReceiptSettings. */
  profile: { key: string, value: Contact | number | Unsolicited | ReceiptSettings }
  /** Version 2: the messages this device sent and how far each got (receipts.ts). */
  sent: { key: string, value: SentRecord, indexes: { created: string } }
}

interface Unsolicited { count: number, bytes: number }

/** What became of one envelope given to receiveMany. */
export type ReceiveOutcome = { fresh: boolean } | { error: unknown }

/** An envelope ready to keep: verified, for us, opened (or a receipt for messages this device sent). */
interface Prepared { record: Received, size: number, unsolicitedIfDirect: boolean, receipt?: Receipt }

/** A message by its name in an acknowledgement: sender and id, as it is stored. */
type MessageRef = Pick<Envelope, 'from' | 'id'>

export interface MessagesInit {
  account: () => Account
  client: CafeClient
  /** Requests to any peer (cafe or not) over libp2p, dialling through the relays when needed. */
  transport: CafeTransport
  peerId: string
  /** Peers connected now that can answer a direct contact lookup (not relays: see httpPeers). */
  connectedPeers: () => string[] | Promise<string[]>
  dbName: string
  /** When it fires (the network or a peer came back), waiting messages and collections are tried at once. */
  wake?: Wake
  now?: () => number
  limits?: Partial<MessageLimits>
}

/**
 * Messages between accounts: this account's public contact (published to its cafes), contact
 * lookup (cache, its cafes, connected peers), sending end-to-end encrypted envelopes directly
 * or to the recipient's inbox cafes (kept in IndexedDB and retried until one accepts), and
 * receiving them (pushed by peers and cafes, or collected) exactly once, in arrival order.
 */
export class Messages extends EventTarget {
  readonly #init: MessagesInit
  readonly #db: Promise<IDBPDatabase<MessagesDB>>
  readonly #now: () => number
  readonly limits: MessageLimits
  /** Undelivered messages, in order per recipient, retried with backoff (the `outgoing` store). */
  readonly #outbox: Outbox<Outgoing>
  #heldTimer: ReturnType<typeof setTimeout> | undefined
  #stopped = false
  /** Why the last delivery attempt to a peer or cafe failed (shown with the outbox). */
  lastFailure: string | undefined
  /** Set while messages wait at a cafe because this device could not keep them (shown on the page). */
  receiveProblem: ReceiveProblem | undefined
  /** Peer id → until when it counts as unreachable (a burst to an offline peer must not dial it 200 times). */
  readonly #unreachable = new Map<string, number>()
  readonly #wake: Wake
  readonly #unwake: () => void
  /** Cancels the pending retry of a failed collection (a wake runs it at once). */
  #collectRetry: (() => void) | undefined

  constructor (init: MessagesInit) {
    super()
    this.#init = init
    this.#now = init.now ?? Date.now
    this.limits = { ...MESSAGE_LIMITS, ...init.limits }
    this.#wake = init.wake ?? new Wake()
    this.#db = openDB<MessagesDB>(init.dbName, 2, {
      upgrade (db, old) {
        if (old < 1) {
          db.createObjectStore('received', { keyPath: 'n', autoIncrement: true }).createIndex('key', 'key', { unique: true })
          db.createObjectStore('contacts', { keyPath: 'address' })
          db.createObjectStore('outgoing', { keyPath: 'key' }).createIndex('seq', 'seq')
          db.createObjectStore('profile')
        }
        if (old < 2) db.createObjectStore('sent', { keyPath: 'id' }).createIndex('created', 'created')
      }
    })
    this.#outbox = new Outbox<Outgoing>({
      db: this.#db,
      store: 'outgoing',
      keyOf: recipientOf,
      idOf: job => job.key,
      // Every due message to one recipient in one go: the cafes take them in batches.
      batch: Infinity,
      run: async jobs => (await this.#deliverAll(jobs)).map((route): JobOutcome => ({ state: route != null ? 'done' : 'retry' })),
      settled: async jobs => { await this.#sentChanged(jobs) },
      retry: MESSAGE_RETRY,
      wake: this.#wake,
      now: this.#now
    })
    // A peer back (or the whole network): it is worth a direct try again at once.
    this.#unwake = this.#wake.on(e => { if (e.peer != null) this.#unreachable.delete(e.peer); else this.#unreachable.clear() })
  }

  /** Retries what was not delivered and collects what arrived at the cafes while away. */
  async start (): Promise<void> {
    void this.#outbox.start().catch(() => {})
    void this.#collectUntilDone()
  }

  // What arrived while this peer was away: a fresh page may not reach its cafes at once.
  async #collectUntilDone (attempt = 0): Promise<void> {
    if (this.#stopped) return
    try {
      const { held } = await this.collect()
      if (held > 0 && this.#heldTimer == null) {
        this.#heldTimer = setTimeout(() => { this.#heldTimer = undefined; void this.#collectUntilDone() }, this.limits.heldRetryMs)
      }
    } catch {
      this.#collectRetry = this.#wake.after(backoff(attempt, MESSAGE_RETRY), () => { this.#collectRetry = undefined; void this.#collectUntilDone(attempt + 1) })
    }
  }

  stop (): void { this.#stopped = true; this.#outbox.stop(); this.#unwake(); this.#collectRetry?.(); clearTimeout(this.#heldTimer) }

  #boxOf: { account: Uint8Array, pair: { publicKey: Uint8Array, secretKey: Uint8Array } } | undefined
  /** The account's box key pair, derived once per account (a drain opens hundreds of boxes). */
  #box (): { publicKey: Uint8Array, secretKey: Uint8Array } {
    const account = this.#init.account().secretKey
    if (this.#boxOf?.account !== account) this.#boxOf = { account, pair: boxKeyPair(account) }
    return this.#boxOf.pair
  }

  async profile (): Promise<Contact | undefined> { return (await (await this.#db).get('profile', 'me')) as Contact | undefined }

  /** Signs this account's contact (name, this peer, its inbox cafes, its box key) and publishes it to every cafe; a `profile` event follows its storing. */
  async setProfile (name: unknown): Promise<{ contact: Contact, published: string[] }> {
    if (typeof name !== 'string') throw new InvalidInputError('INVALID_FIELD', 'name must be a string')
    const cafes = (await this.#init.client.list()).filter(s => s.ended == null).map(s => s.id)
    const contact = signContact(this.#init.account(), { name, peers: [this.#init.peerId], inboxes: cafes, box: toBase64url(this.#box().publicKey) }, this.#now())
    await (await this.#db).put('profile', contact, 'me')
    this.dispatchEvent(new Event('profile'))
    const published: string[] = []
    await Promise.all(cafes.map(async id => { if (await this.#init.client.api(id).publishContact(contact)) published.push(id) }))
    return { contact, published }
  }

  async #remember (contact: Contact): Promise<Contact> {
    const db = await this.#db
    const held = await db.get('contacts', contact.address)
    if (held == null || isNewer(contact, held)) { await db.put('contacts', contact); return contact }
    return held
  }

  /** Any cafe's API with no session (a contact's inbox cafes, for delivery and lookup): one attempt each call, bounded. */
  #cafe (id: string): CafeApi {
    return new CafeApi(bareCall(this.#init.transport, id, () => ({ signal: AbortSignal.timeout(MESSAGE_LIMITS.attemptTimeoutMs) })), id)
  }

  /** A peer's own API; `redialAbsent`: false for a recipient's own peer, which may just be offline (see TransportOptions). */
  #peer (id: string, redialAbsent = true): PeerApi {
    return new PeerApi(bareCall(this.#init.transport, id, () => ({ signal: AbortSignal.timeout(MESSAGE_LIMITS.attemptTimeoutMs), redialAbsent })), id)
  }

  /** A verified contact: from the cache, this account's cafes, or the peers connected now. */
  async contactOf (address: string, opts: { refresh?: boolean } = {}): Promise<Contact> {
    const cached = await (await this.#db).get('contacts', address)
    if (cached != null && opts.refresh !== true) return cached
    const cafes = (await this.#init.client.list()).filter(s => s.ended == null).map(s => s.id)
    let best = cached
    const asks = [
      ...cafes.map(id => async () => this.#cafe(id).contact(address)),
      ...(await this.#init.connectedPeers()).filter(p => !cafes.includes(p)).map(id => async () => this.#peer(id).contact())
    ]
    await Promise.all(asks.map(async ask => {
      try {
        const c = verifyContact(await ask())
        if (c.address === address && (best == null || isNewer(c, best))) best = c
      } catch { /* one source less */ }
    }))
    if (best == null) throw new NotFoundError('CONTACT_NOT_FOUND', `no contact for ${address} at this account's cafes or connected peers`)
    return this.#remember(best)
  }

  /** Sends text to an account: directly if one of its peers answers, else to its inbox cafes. */
  async send (to: unknown, text: unknown): Promise<{ id: string, route: 'direct' | 'inbox' | 'queued' }> {
    if (typeof to !== 'string' || to.length > 64) throw new InvalidInputError('INVALID_FIELD', 'to must be an account address')
    if (typeof text !== 'string') throw new InvalidInputError('INVALID_FIELD', 'body must be a string')
    // A NUL first is how a receipt's plaintext starts (receipts.ts): no message may look like one.
    if (text.startsWith('\u0000')) throw new InvalidInputError('INVALID_FIELD', 'a message may not start with a NUL character')
    const bytes = utf8.encode(text)
    if (bytes.byteLength > MESSAGE_LIMITS.maxTextBytes) throw new LightcafeError('MESSAGE_TOO_LARGE', `messages are limited to ${MESSAGE_LIMITS.maxTextBytes} bytes`, 413)
    const contact = await this.contactOf(to)
    const envelope = await createEnvelope(this.#init.account(), contact, bytes, this.#now())
    const db = await this.#db
    const waiting = (await this.#outbox.jobs(envelope.to)).length > 0
    const job: Outgoing = { key: envelopeKey(envelope), seq: this.#seq(), envelope, attempts: 0, notBefore: 0 }
    // Kept before the first attempt: a crash mid-send retries rather than loses.
    const tx = db.transaction(['outgoing', 'sent'], 'readwrite')
    await tx.objectStore('outgoing').put(job)
    await tx.objectStore('sent').put({ id: envelope.id, to: envelope.to, created: envelope.created, state: 'queued', cafes: [] })
    await tx.done
    void this.#pruneSent()
    // Earlier messages to this recipient still wait: this one goes behind them, in order.
    if (waiting) { this.#outbox.kick(envelope.to); return { id: envelope.id, route: 'queued' } }
    // One attempt at every route now, for the answer; the message leaves the outbox when one accepted it.
    const [route] = await this.#deliverAll([job])
    await this.#outbox.settle([job], [{ state: route != null ? 'done' : 'retry' }])
    if (route == null) this.#outbox.kick(envelope.to)
    return { id: envelope.id, route: route ?? 'queued' }
  }

  /**
   * One attempt at every route for waiting messages to one recipient, oldest first: directly if
   * one of its peers takes the first, else to every inbox cafe of its contact, many envelopes a
   * request (POST /cafe/v1/inbox/batch). A message leaves the outbox (settled by the caller)
   * when a route accepted it.
   */
  async #deliverAll (jobs: Outgoing[]): Promise<Array<'direct' | 'inbox' | undefined>> {
    const contact = await this.contactOf(jobs[0].envelope.to).catch(() => undefined)
    const routes: Array<'direct' | 'inbox' | undefined> = jobs.map(() => undefined)
    let direct = false
    for (const [k, job] of jobs.entries()) {
      // A peer that took the first message is tried for the rest; one that did not, is not.
      if (k > 0 && !direct) break
      direct = await this.#direct(job, contact)
      if (direct) routes[k] = 'direct'
    }
    const left = jobs.filter((_, k) => routes[k] == null)
    if (left.length > 0) {
      // Every inbox cafe gets a copy: the recipient may collect from whichever it reaches first.
      const inboxes = contact?.inboxes ?? []
      const accepted = await Promise.all(inboxes.map(async cafe => this.#toCafe(cafe, left.map(j => j.envelope))))
      let n = 0
      jobs.forEach((job, k) => {
        if (routes[k] != null) return
        const i = n++
        const stored = inboxes.filter((_, c) => accepted[c][i])
        if (stored.length > 0) routes[k] = 'inbox'
        this.#progress.set(job.envelope.id, { state: 'stored', cafes: stored })
      })
    }
    jobs.forEach((job, k) => { if (routes[k] === 'direct') this.#progress.set(job.envelope.id, { state: 'delivered', cafes: [] }) })
    return routes
  }

  /** What the last attempt at each message came to, until its sent record takes it (#sentChanged). */
  readonly #progress = new Map<string, { state: 'stored' | 'delivered', cafes: string[] }>()

  /** Records how far sent messages got: stored at the cafes that took them, or delivered straight to the recipient's peer. */
  async #sentChanged (jobs: Outgoing[]): Promise<void> {
    const db = await this.#db
    const tx = db.transaction('sent', 'readwrite')
    const at = new Date(this.#now()).toISOString()
    let changed = false
    for (const job of jobs) {
      const p = this.#progress.get(job.envelope.id)
      this.#progress.delete(job.envelope.id)
      const rec = job.receipt === true || p == null ? undefined : await tx.store.get(job.envelope.id)
      if (rec == null || p == null || (p.state === 'stored' && p.cafes.length === 0)) continue
      await tx.store.put(advance(rec, p.state, at, p.cafes))
      changed = true
    }
    await tx.done
    if (changed) this.dispatchEvent(new Event('sent'))
  }

  /** Keeps the newest RECEIPT_LIMITS.keepSent sent records. */
  async #pruneSent (): Promise<void> {
    const db = await this.#db
    const n = await db.count('sent')
    if (n <= RECEIPT_LIMITS.keepSent) return
    const tx = db.transaction('sent', 'readwrite')
    let cursor = await tx.store.index('created').openCursor()
    for (let left = n - RECEIPT_LIMITS.keepSent; cursor != null && left > 0; left--) { await cursor.delete(); cursor = await cursor.continue() }
    await tx.done
  }

  /** The messages this device sent, newest first, with how far each got: queued, stored at N cafes, delivered, read. */
  async sent (limit = 200): Promise<SentRecord[]> {
    return (await (await this.#db).getAllFromIndex('sent', 'created')).reverse().slice(0, limit)
  }

  async receiptSettings (): Promise<ReceiptSettings> {
    return ((await (await this.#db).get('profile', 'receipts')) as ReceiptSettings | undefined) ?? { readReceipts: false }
  }

  async setReceiptSettings (body: Record<string, unknown>): Promise<ReceiptSettings> {
    if (typeof body.readReceipts !== 'boolean') throw new InvalidInputError('INVALID_FIELD', 'readReceipts must be true or false')
    const settings: ReceiptSettings = { readReceipts: body.readReceipts }
    await (await this.#db).put('profile', settings, 'receipts')
    return settings
  }

  /**
   * Tells senders what became of their messages: one receipt per sender and chunk, queued in the
   * outbox like a message (retried until delivered). A sender whose contact cannot be found
   * gets none: receipts are a courtesy, never a reason to hold anything.
   */
  async #sendReceipts (kind: Receipt['kind'], ids: Map<string, string[]>): Promise<void> {
    const me = this.#init.account().address
    ids.delete(me)
    const db = await this.#db
    for (const { to, ids: chunk } of receiptChunks(ids)) {
      const contact = await this.contactOf(to).catch(() => undefined)
      if (contact == null) continue
      const envelope = await createEnvelope(this.#init.account(), contact, encodeReceipt({ kind, ids: chunk }), this.#now())
      await db.put('outgoing', { key: envelopeKey(envelope), seq: this.#seq(), envelope, attempts: 0, notBefore: 0, receipt: true })
      this.#outbox.kick(to)
    }
  }

  /** A receipt from `from`: the messages it names that this device sent to `from` move on. */
  async #takeReceipt (from: string, receipt: Receipt): Promise<void> {
    const db = await this.#db
    const tx = db.transaction('sent', 'readwrite')
    const at = new Date(this.#now()).toISOString()
    for (const id of receipt.ids) {
      const rec = await tx.store.get(id)
      // Only the account a message went to can tell what became of it.
      if (rec == null || rec.to !== from) continue
      await tx.store.put(advance(rec, receipt.kind, at))
    }
    await tx.done
    this.dispatchEvent(new Event('sent'))
  }

  /** One delivery call to a peer: its outcome, or why it failed (kept for the outbox view). */
  async #attempt<T> (peer: string, call: () => Promise<T>): Promise<{ ok: true, value: T } | { ok: false, reason?: string }> {
    try {
      return { ok: true, value: await call() }
    } catch (err) {
      this.lastFailure = `${peer}: ${(err as Error).message}`
      return { ok: false, ...(err instanceof LightcafeError ? { reason: err.reason } : {}) }
    }
  }

  /** The message straight to one of the recipient's peers; false when none took it. */
  async #direct (job: Outgoing, contact: Contact | undefined): Promise<boolean> {
    for (const peer of contact?.peers ?? []) {
      if (peer === this.#init.peerId || (this.#unreachable.get(peer) ?? 0) > this.#now()) continue
      const sent = await this.#attempt(peer, async () => this.#peer(peer, false).deliver(job.envelope))
      if (sent.ok) { this.#unreachable.delete(peer); return true }
      // Absent or not answering: the inbox until it is seen back (see unreachableForMs).
      this.#unreachable.set(peer, this.#now() + this.limits.unreachableForMs)
    }
    return false
  }

  /**
   * Delivers envelopes to one cafe: one alone as POST /cafe/v1/inbox, more in batches within
   * the cafe's bounds; a cafe without the batch route (404) gets them one by one. True per
   * envelope the cafe holds now (stored, or held already).
   */
  async #toCafe (cafe: string, envelopes: Envelope[]): Promise<boolean[]> {
    const api = this.#cafe(cafe)
    const single = async (e: Envelope): Promise<boolean> => (await this.#attempt(cafe, async () => api.deliver(e))).ok
    if (envelopes.length === 1) return [await single(envelopes[0])]
    const out: boolean[] = []
    for (const batch of inboxBatches(envelopes)) {
      const sent = await this.#attempt(cafe, async () => api.deliverMany(batch))
      if (!sent.ok && sent.reason === 'NOT_FOUND') {
        for (const e of batch) out.push(await single(e))
        continue
      }
      // Only what the cafe answered with a seq is held there; anything else is tried again.
      batch.forEach((e, i) => {
        const r = sent.ok ? sent.value[i] : undefined
        const held = r != null && 'seq' in r && r.id === e.id && typeof r.seq === 'number'
        const refused = r != null && 'error' in r ? r.error?.details : undefined
        if (!held && typeof refused === 'string') this.lastFailure = `${cafe}: ${refused}`
        out.push(held)
      })
    }
    return out
  }

  #lastSeq = 0
  #seq (): number { this.#lastSeq = Math.max(this.#now() * 1000, this.#lastSeq + 1); return this.#lastSeq }

  /** Messages waiting to be delivered (receipts not counted). */
  async pending (): Promise<number> { return (await this.#outbox.entries()).filter(e => e.job.receipt !== true).length }

  /**
   * An envelope for this account, from a peer delivering directly or a cafe pushing (or a
   * collect). Verified, opened, kept once per sender+id. True if it was new. Direct deliveries
   * from senders not in this device's contacts count against one budget for all of them.
   * Throws LightcafeError: the PROVEN_INVALID reasons when the envelope is bad; CLOCK_SKEW,
   * ENVELOPE_TOO_OLD, INBOX_FULL, STORAGE_FULL or STORAGE_ERROR when it may be good but was not kept.
   */
  async receive (value: unknown, opts: { via?: Via } = {}): Promise<boolean> {
    const [outcome] = await this.receiveMany([value], opts)
    if ('error' in outcome) throw outcome.error
    return outcome.fresh
  }

  /**
   * receive() for many envelopes (a page collected from a cafe): checked and opened side by
   * side, and all those that pass kept in one transaction, in the order given. One outcome per
   * envelope, in order: `fresh` (stored now) or not (already here), or the error receive()
   * would have thrown. A storage failure fails every envelope of the batch: none was kept.
   */
  async receiveMany (values: readonly unknown[], opts: { via?: Via } = {}): Promise<ReceiveOutcome[]> {
    const via = opts.via ?? 'direct'
    const now = this.#now()
    const db = await this.#db
    const out: ReceiveOutcome[] = new Array(values.length)
    const ready: Array<{ i: number, item: Prepared }> = []
    await Promise.all(values.map(async (value, i) => {
      try {
        const item = await this.#prepare(db, value, via, now)
        if (item == null) out[i] = { fresh: false }
        else ready.push({ i, item })
      } catch (err) { out[i] = { error: err } }
    }))
    ready.sort((a, b) => a.i - b.i)
    // Receipts are not messages: they move this device's sent messages on, and are done.
    for (const r of ready.filter(r => r.item.receipt != null)) {
      try { await this.#takeReceipt(r.item.record.from, r.item.receipt!); out[r.i] = { fresh: false } } catch (err) { out[r.i] = { error: this.#storageProblem(err) } }
    }
    ready.splice(0, ready.length, ...ready.filter(r => r.item.receipt == null))
    if (ready.length === 0) return out
    let outcomes: Array<'stored' | 'duplicate' | 'full'>
    try {
      outcomes = await this.#store(db, ready.map(r => r.item), via)
    } catch (err) {
      // A concurrent copy won somewhere (a push during a collect): each on its own, so only that one is "not new".
      if ((err as Error).name === 'ConstraintError' && ready.length > 1) {
        for (const { i } of ready) [out[i]] = await this.receiveMany([values[i]], opts)
        return out
      }
      if ((err as Error).name === 'ConstraintError') { out[ready[0].i] = { fresh: false }; return out }
      const problem = this.#storageProblem(err)
      for (const { i } of ready) out[i] = { error: problem }
      return out
    }
    let fresh = false
    ready.forEach(({ i }, k) => {
      const o = outcomes[k]
      if (o === 'full') out[i] = { error: new LightcafeError('INBOX_FULL', `this device holds its most unread messages (${this.limits.unsolicitedCount}, ${this.limits.unsolicitedBytes} bytes) from senders it does not know; deliver to its cafes`, 413) }
      else { out[i] = { fresh: o === 'stored' }; fresh ||= o === 'stored' }
    })
    if (fresh) this.dispatchEvent(new Event('message'))
    // Messages that came through a cafe: their senders learn they were delivered (a direct one's sender knew at once).
    if (via === 'cafe') {
      const delivered = new Map<string, string[]>()
      ready.forEach(({ i, item }) => { if ('fresh' in out[i] && (out[i] as { fresh: boolean }).fresh) delivered.set(item.record.from, [...delivered.get(item.record.from) ?? [], item.record.id]) })
      if (delivered.size > 0) void this.#sendReceipts('delivered', delivered).catch(() => {})
    }
    return out
  }

  /** One envelope verified, judged and opened, ready to store; undefined when it is already here. */
  async #prepare (db: IDBPDatabase<MessagesDB>, value: unknown, via: Via, now: number): Promise<Prepared | undefined> {
    // The time is checked here, not in verifyEnvelope: too far ahead says more about the clocks than the message.
    const envelope = await verifyEnvelope(value, { ...ENVELOPE_LIMITS, maxFutureSkewMs: Infinity }, now)
    if (envelope.to !== this.#init.account().address) throw new NotFoundError('UNKNOWN_RECIPIENT', 'this peer does not receive for that address')
    const created = Date.parse(envelope.created)
    if (created > now + this.limits.maxFutureSkewMs) throw new LightcafeError('CLOCK_SKEW', `the message was created ${Math.round((created - now) / 60_000)} min ahead of this device's clock; check the clock`, 409)
    if (via === 'direct' && created < now - this.limits.maxDirectAgeMs) throw new InvalidInputError('ENVELOPE_TOO_OLD', 'a direct delivery is at most a week old; older ones go through the recipient\'s cafes')
    const key = envelopeKey(envelope)
    if ((await db.getKeyFromIndex('received', 'key', key)) != null) return undefined
    const bytes = await openEnvelope(this.#box().secretKey, envelope)
    const receipt = decodeReceipt(bytes)
    const record: Received = { key, id: envelope.id, from: envelope.from, body: receipt != null ? '' : utf8.decode(bytes), created: envelope.created, received: new Date(now).toISOString() }
    return { record, size: JSON.stringify(envelope).length, unsolicitedIfDirect: envelope.from !== envelope.to, ...(receipt != null ? { receipt } : {}) }
  }

  /** Keeps prepared envelopes in one transaction: the dedupe, the budget and the writes cannot interleave with another delivery's. */
  async #store (db: IDBPDatabase<MessagesDB>, items: Prepared[], via: Via): Promise<Array<'stored' | 'duplicate' | 'full'>> {
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
      } else if (unsolicited && (used.count + 1 > this.limits.unsolicitedCount || used.bytes + size > this.limits.unsolicitedBytes)) {
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
  #storageProblem (err: unknown): LightcafeError {
    const full = (err as Error).name === 'QuotaExceededError'
    const e = full
      ? new LightcafeError('STORAGE_FULL', 'this device\'s storage is full: messages wait at the cafes until space is freed', 507)
      : new LightcafeError('STORAGE_ERROR', `this device could not store a message: ${(err as Error).message}`, 500)
    this.receiveProblem = { reason: e.reason, details: e.message, at: new Date(this.#now()).toISOString(), held: this.receiveProblem?.held ?? 0 }
    // A push that failed is still at the cafe: collect it again later, once.
    if (this.#heldTimer == null && !this.#stopped) {
      this.#heldTimer = setTimeout(() => { this.#heldTimer = undefined; void this.#collectUntilDone() }, this.limits.heldRetryMs)
    }
    return e
  }

  /**
   * Drains the inbox at every (or one) cafe: pages in arrival order, each page kept, then
   * acknowledged. Only what was stored here, or proven bad, is acknowledged: a message this
   * device could not keep (storage full, clock far off) stays at the cafe for a later collect.
   */
  async collect (cafeId?: string): Promise<{ received: number, held: number }> {
    const cafes = cafeId != null ? [cafeId] : (await this.#init.client.list()).filter(s => s.ended == null).map(s => s.id)
    let received = 0
    let held = 0
    let problem: ReceiveProblem | undefined
    const failures: string[] = []
    await Promise.all(cafes.map(async id => {
      try {
        // Held messages stay in the inbox: page past them by seq rather than from the start again.
        let after = 0
        // A page's acknowledgement travels while the next page is asked for: the cursor, not the ack, moves the list on.
        let acking: Promise<void> = Promise.resolve()
        try {
          for (;;) {
            const page = await this.#init.client.api(id).inbox({ after, limit: this.limits.pageSize })
            const acks: MessageRef[] = []
            const before = after
            for (const m of page.messages) if (typeof m.seq === 'number' && Number.isSafeInteger(m.seq) && m.seq > after) after = m.seq
            const outcomes = await this.receiveMany(page.messages.map(m => m.envelope), { via: 'cafe' })
            page.messages.forEach((m, i) => {
              const ref = refOf(m.envelope)
              const outcome = outcomes[i]
              if (!('error' in outcome)) {
                if (outcome.fresh) received++
                if (ref != null) acks.push(ref)
                return
              }
              const err = outcome.error
              const reason = err instanceof LightcafeError ? err.reason : 'STORAGE_ERROR'
              if (PROVEN_INVALID.has(reason)) { if (ref != null) acks.push(ref); return }
              held++
              problem = { reason, details: (err as Error).message, at: new Date(this.#now()).toISOString(), held: 0 }
            })
            await acking
            if (acks.length > 0) acking = this.ack(id, acks)
            // A page that does not move the cursor (no usable seq) would be asked for forever.
            if (!page.more || page.messages.length === 0 || after === before) break
          }
        } finally {
          // Every acknowledgement is answered (or failed) before this cafe counts as collected.
          await acking
        }
      } catch (err) {
        failures.push(`${id}: ${(err as Error).message}`)
      }
    }))
    // Every cafe answered: what is held now is the whole story.
    if (failures.length === 0) this.receiveProblem = problem == null ? undefined : { ...problem, held }
    else if (problem != null) this.receiveProblem = { ...problem, held }
    if (failures.length > 0) throw new UnavailableError('CAFE_UNREACHABLE', `${failures.length} of ${cafes.length} inboxes could not be collected (${received} new from the others): ${failures.join('; ')}`)
    return { received, held }
  }

  /** Tells a cafe these messages are safely here (or proven bad): it deletes them. */
  async ack (cafeId: string, refs: MessageRef[]): Promise<void> {
    await this.#init.client.api(cafeId).ack(refs)
  }

  /** Received messages, oldest first, each once. Listing them marks them read. */
  async list (): Promise<ReceivedMessage[]> {
    const db = await this.#db
    const rows = await db.getAll('received')
    if (rows.length > 0) {
      // Read now: what strangers delivered no longer counts against their budget.
      const tx = db.transaction('profile', 'readwrite')
      const before = ((await tx.store.get('read')) as number | undefined) ?? 0
      await tx.store.put(rows[rows.length - 1].n!, 'read')
      await tx.store.delete('unsolicited')
      await tx.done
      // Newly read: their senders are told, only if this device sends read receipts (off by default).
      if ((await this.receiptSettings()).readReceipts) {
        const read = new Map<string, string[]>()
        for (const r of rows) if (r.n! > before) read.set(r.from, [...read.get(r.from) ?? [], r.id])
        if (read.size > 0) void this.#sendReceipts('read', read).catch(() => {})
      }
    }
    return rows.map(({ id, from, body, created, received }) => ({ id, from, body, created, received }))
  }

  /** Messages received since the list was last read. */
  async unread (): Promise<number> {
    const db = await this.#db
    const read = ((await db.get('profile', 'read')) as number | undefined) ?? 0
    return db.count('received', IDBKeyRange.lowerBound(read, true))
  }

  async count (): Promise<number> { return (await this.#db).count('received') }

  async close (): Promise<void> { (await this.#db).close() }
}

/** An envelope's name for an acknowledgement, when what the cafe sent has a usable one. */
function refOf (envelope: unknown): MessageRef | undefined {
  const { from, id } = (typeof envelope === 'object' && envelope != null ? envelope : {}) as { from?: unknown, id?: unknown }
  return isAddress(from) && typeof id === 'string' && /^[A-Za-z0-9_-]{22}$/.test(id) ? { from, id } : undefined
}
