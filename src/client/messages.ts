import { openDB } from 'idb'
import { boxKeyPair } from '../account/box.ts'
import { isNewer, signContact, verifyContact } from '../contacts/index.ts'
import { createEnvelope, envelopeKey, openEnvelope, verifyEnvelope } from '../inbox/index.ts'
import { toBase64url, utf8 } from '../shared/bytes.ts'
import { InvalidInputError, LightcafeError, NotFoundError, UnavailableError } from '../shared/errors.ts'
import { REMOTE_BODY_LIMITS, readJson } from '../shared/streams.ts'
import { asError } from './cafe-client.ts'
import type { CafeClient, CafeTransport } from './cafe-client.ts'
import type { Account } from '../account/index.ts'
import type { Contact } from '../contacts/index.ts'
import type { Envelope } from '../inbox/index.ts'
import type { DBSchema, IDBPDatabase } from 'idb'

export const MESSAGE_LIMITS = {
  /** A message's text; sealed and base64url-encoded it stays inside the 64 KiB envelope. */
  maxTextBytes: 32 * 1024 - 64,
  /** Inbox pages collected per request. */
  pageSize: 200,
  /** Undelivered messages are retried this often (doubling up to the cap). */
  firstRetryMs: 2_000,
  maxRetryMs: 30_000,
  /** One delivery attempt (dial + request) to a peer or cafe. */
  attemptTimeoutMs: 10_000,
  /** A peer that could not be reached is not tried directly again for this long (its cafes are): a burst to an offline peer dials it once, and one that returns is reached directly again within seconds. */
  unreachableForMs: 3_000
} as const

export interface ReceivedMessage { id: string, from: string, body: string, created: string, received: string }

interface Received extends ReceivedMessage { n?: number, key: string }
/** An undelivered message; `seq` keeps the order messages to one recipient were sent in. */
interface Outgoing { key: string, seq: number, envelope: Envelope, attempts: number, notBefore: number }

interface MessagesDB extends DBSchema {
  received: { key: number, value: Received, indexes: { key: string } }
  contacts: { key: string, value: Contact }
  outgoing: { key: string, value: Outgoing, indexes: { seq: number } }
  profile: { key: string, value: Contact | number }
}

export interface MessagesInit {
  account: () => Account
  client: CafeClient
  /** Requests to any peer (cafe or not) over libp2p, dialling through the relays when needed. */
  transport: CafeTransport
  peerId: string
  /** Peers this node is connected to now (direct contact lookups). */
  connectedPeers: () => string[]
  dbName: string
  now?: () => number
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
  #timer: ReturnType<typeof setTimeout> | undefined
  #stopped = false
  /** Why the last delivery attempt to a peer or cafe failed (shown with the outbox). */
  lastFailure: string | undefined
  /** Peer id → until when it counts as unreachable (a burst to an offline peer must not dial it 200 times). */
  readonly #unreachable = new Map<string, number>()

  constructor (init: MessagesInit) {
    super()
    this.#init = init
    this.#now = init.now ?? Date.now
    this.#db = openDB<MessagesDB>(init.dbName, 1, {
      upgrade (db, old) {
        if (old < 1) {
          db.createObjectStore('received', { keyPath: 'n', autoIncrement: true }).createIndex('key', 'key', { unique: true })
          db.createObjectStore('contacts', { keyPath: 'address' })
          db.createObjectStore('outgoing', { keyPath: 'key' }).createIndex('seq', 'seq')
          db.createObjectStore('profile')
        }
      }
    })
  }

  /** Retries what was not delivered and collects what arrived at the cafes while away. */
  async start (): Promise<void> {
    this.#schedule(0)
    void this.#collectUntilDone(MESSAGE_LIMITS.firstRetryMs)
  }

  // What arrived while this peer was away: a fresh page may not reach its cafes at once.
  async #collectUntilDone (delay: number): Promise<void> {
    if (this.#stopped) return
    try {
      await this.collect()
    } catch {
      setTimeout(() => { void this.#collectUntilDone(Math.min(delay * 2, MESSAGE_LIMITS.maxRetryMs)) }, delay)
    }
  }

  stop (): void { this.#stopped = true; clearTimeout(this.#timer) }

  #box (): { publicKey: Uint8Array, secretKey: Uint8Array } { return boxKeyPair(this.#init.account().secretKey) }

  async profile (): Promise<Contact | undefined> { return (await (await this.#db).get('profile', 'me')) as Contact | undefined }

  /** Signs this account's contact (name, this peer, its inbox cafes, its box key) and publishes it to every cafe. */
  async setProfile (name: unknown): Promise<{ contact: Contact, published: string[] }> {
    if (typeof name !== 'string') throw new InvalidInputError('INVALID_FIELD', 'name must be a string')
    const cafes = (await this.#init.client.list()).filter(s => s.ended == null).map(s => s.id)
    const contact = signContact(this.#init.account(), { name, peers: [this.#init.peerId], inboxes: cafes, box: toBase64url(this.#box().publicKey) }, this.#now())
    await (await this.#db).put('profile', contact, 'me')
    const published: string[] = []
    await Promise.all(cafes.map(async id => {
      const res = await this.#init.client.request(id, '/cafe/v1/contacts', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(contact) })
      if (res.ok) published.push(id)
      else await res.body?.cancel()
    }))
    return { contact, published }
  }

  async #remember (contact: Contact): Promise<Contact> {
    const db = await this.#db
    const held = await db.get('contacts', contact.address)
    if (held == null || isNewer(contact, held)) { await db.put('contacts', contact); return contact }
    return held
  }

  async #ask (peer: string, path: string, init: RequestInit = {}): Promise<Response> {
    return this.#init.transport({ id: peer, addrs: [] }, new Request(`http://peer${path}`, init), AbortSignal.timeout(MESSAGE_LIMITS.attemptTimeoutMs))
  }

  /** A verified contact: from the cache, this account's cafes, or the peers connected now. */
  async contactOf (address: string, opts: { refresh?: boolean } = {}): Promise<Contact> {
    const cached = await (await this.#db).get('contacts', address)
    if (cached != null && opts.refresh !== true) return cached
    const cafes = (await this.#init.client.list()).filter(s => s.ended == null).map(s => s.id)
    let best = cached
    const sources = [...cafes.map(id => ({ id, path: `/cafe/v1/contacts/${encodeURIComponent(address)}` })), ...this.#init.connectedPeers().filter(p => !cafes.includes(p)).map(id => ({ id, path: '/client/v1/contact' }))]
    await Promise.all(sources.map(async s => {
      try {
        const res = await this.#ask(s.id, s.path)
        if (!res.ok) { await res.body?.cancel(); return }
        const c = verifyContact(await readJson(res, { maxBytes: REMOTE_BODY_LIMITS.contactBytes, what: `the contact from ${s.id}` }))
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
    const bytes = utf8.encode(text)
    if (bytes.byteLength > MESSAGE_LIMITS.maxTextBytes) throw new LightcafeError('MESSAGE_TOO_LARGE', `messages are limited to ${MESSAGE_LIMITS.maxTextBytes} bytes`, 413)
    const contact = await this.contactOf(to)
    const envelope = await createEnvelope(this.#init.account(), contact, bytes, this.#now())
    const db = await this.#db
    const waiting = (await db.getAll('outgoing')).some(o => o.envelope.to === envelope.to)
    const job: Outgoing = { key: envelopeKey(envelope), seq: this.#seq(), envelope, attempts: 0, notBefore: 0 }
    // Kept before the first attempt: a crash mid-send retries rather than loses.
    await db.put('outgoing', job)
    // Earlier messages to this recipient still wait: this one goes behind them, in order.
    if (waiting) { this.#schedule(0); return { id: envelope.id, route: 'queued' } }
    const route = await this.#deliver(job)
    if (route == null) this.#schedule(MESSAGE_LIMITS.firstRetryMs)
    return { id: envelope.id, route: route ?? 'queued' }
  }

  /** One attempt at every route; the message leaves the outbox when one accepted it. */
  async #deliver (job: Outgoing): Promise<'direct' | 'inbox' | undefined> {
    const contact = await this.contactOf(job.envelope.to).catch(() => undefined)
    const body = JSON.stringify(job.envelope)
    const post = async (peer: string, path: string): Promise<boolean> => {
      try {
        const res = await this.#ask(peer, path, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
        if (!res.ok) this.lastFailure = `${peer}: ${(await asError(res)).message}`
        else await res.body?.cancel()
        return res.ok
      } catch (err) {
        this.lastFailure = `${peer}: ${(err as Error).message}`
        return false
      }
    }
    let route: 'direct' | 'inbox' | undefined
    for (const peer of contact?.peers ?? []) {
      if (peer === this.#init.peerId || (this.#unreachable.get(peer) ?? 0) > this.#now()) continue
      if (await post(peer, '/client/v1/inbox')) { route = 'direct'; this.#unreachable.delete(peer); break }
      this.#unreachable.set(peer, this.#now() + MESSAGE_LIMITS.unreachableForMs)
    }
    if (route == null) {
      // Every inbox cafe gets a copy: the recipient may collect from whichever it reaches first.
      const accepted = await Promise.all((contact?.inboxes ?? []).map(async cafe => post(cafe, '/cafe/v1/inbox')))
      if (accepted.some(Boolean)) route = 'inbox'
    }
    const db = await this.#db
    if (route != null) await db.delete('outgoing', job.key)
    else await db.put('outgoing', { ...job, attempts: job.attempts + 1, notBefore: this.#now() + Math.min(MESSAGE_LIMITS.firstRetryMs * 2 ** job.attempts, MESSAGE_LIMITS.maxRetryMs) })
    return route
  }

  #schedule (ms: number): void {
    if (this.#stopped) return
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => { this.#retry().catch(() => {}) }, ms)
  }

  #lastSeq = 0
  #seq (): number { this.#lastSeq = Math.max(this.#now() * 1000, this.#lastSeq + 1); return this.#lastSeq }

  #retrying = false
  /** Delivers waiting messages oldest first; a recipient whose message fails waits, so its order holds. */
  async #retry (): Promise<void> {
    if (this.#retrying) return
    this.#retrying = true
    try {
      const pending = await (await this.#db).getAllFromIndex('outgoing', 'seq')
      const blocked = new Set<string>()
      let next = Infinity
      for (const job of pending) {
        if (blocked.has(job.envelope.to)) continue
        if (job.notBefore > this.#now()) { blocked.add(job.envelope.to); next = Math.min(next, job.notBefore - this.#now()); continue }
        if ((await this.#deliver(job)) == null) { blocked.add(job.envelope.to); next = Math.min(next, MESSAGE_LIMITS.firstRetryMs) }
      }
      if (next < Infinity) this.#schedule(Math.max(next, 500))
    } finally {
      this.#retrying = false
    }
  }

  async pending (): Promise<number> { return (await (await this.#db).getAllKeys('outgoing')).length }

  /**
   * An envelope for this account, from a peer delivering directly or a cafe pushing (or a
   * collect). Verified, opened, kept once per sender+id. True if it was new.
   */
  async receive (value: unknown): Promise<boolean> {
    const envelope = verifyEnvelope(value, undefined, this.#now())
    if (envelope.to !== this.#init.account().address) throw new NotFoundError('UNKNOWN_RECIPIENT', 'this peer does not receive for that address')
    const key = envelopeKey(envelope)
    const db = await this.#db
    if ((await db.getKeyFromIndex('received', 'key', key)) != null) return false
    const text = utf8.decode(await openEnvelope(this.#box().secretKey, envelope))
    try {
      await db.add('received', { key, id: envelope.id, from: envelope.from, body: text, created: envelope.created, received: new Date(this.#now()).toISOString() })
    } catch (err) {
      if ((err as Error).name === 'ConstraintError') return false // a concurrent copy won
      throw err
    }
    this.dispatchEvent(new Event('message'))
    return true
  }

  /** Drains the inbox at every (or one) cafe: pages in arrival order, each page kept, then acknowledged. */
  async collect (cafeId?: string): Promise<{ received: number }> {
    const cafes = cafeId != null ? [cafeId] : (await this.#init.client.list()).filter(s => s.ended == null).map(s => s.id)
    let received = 0
    const failures: string[] = []
    await Promise.all(cafes.map(async id => {
      try {
        for (;;) {
          const res = await this.#init.client.request(id, `/cafe/v1/inbox?limit=${MESSAGE_LIMITS.pageSize}`)
          if (!res.ok) throw await asError(res)
          const page = await readJson(res, { maxBytes: REMOTE_BODY_LIMITS.pageBytes, what: `the inbox at cafe ${id}` }) as { messages: Array<{ envelope: unknown }>, more: boolean }
          const ids: string[] = []
          for (const m of page.messages) {
            try { if (await this.receive(m.envelope)) received++ } catch { /* a bad envelope is dropped, and acknowledged so it goes */ }
            ids.push(String((m.envelope as { id?: unknown }).id))
          }
          if (ids.length > 0) await this.ack(id, ids)
          if (!page.more || ids.length === 0) break
        }
      } catch (err) {
        failures.push(`${id}: ${(err as Error).message}`)
      }
    }))
    if (failures.length > 0) throw new UnavailableError('CAFE_UNREACHABLE', `${failures.length} of ${cafes.length} inboxes could not be collected (${received} new from the others): ${failures.join('; ')}`)
    return { received }
  }

  /** Tells a cafe these messages are safely here: it deletes them. */
  async ack (cafeId: string, ids: string[]): Promise<void> {
    const res = await this.#init.client.request(cafeId, '/cafe/v1/inbox/ack', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ids }) })
    if (!res.ok && res.status !== 404) throw await asError(res)
    await res.body?.cancel()
  }

  /** Received messages, oldest first, each once. Listing them marks them read. */
  async list (): Promise<ReceivedMessage[]> {
    const db = await this.#db
    const rows = await db.getAll('received')
    if (rows.length > 0) await db.put('profile', rows[rows.length - 1].n!, 'read')
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
