import { refusalError } from '../shared/errors.ts'
import { REMOTE_BODY_LIMITS, readJson } from '../shared/streams.ts'
import type { Session } from '../cafe/host.ts'
import type { BatchDelivery, CafeInbox, Delivery } from '../cafe/inbox/inbox.ts'
import type { ClientHoldings, PinStatus } from '../cafe/pins/pin-service.ts'
import type { SnapshotRecord, SnapshotView } from '../cafe/snapshots.ts'
import type { Contact } from '../contacts/index.ts'
import type { Envelope } from '../inbox/index.ts'
import type { LightcafeError } from '../shared/errors.ts'
import type { AbortOptions } from '@libp2p/interface'

/** How a request reaches a peer (libp2p in the app; the cafe's Hono app directly in unit tests). */
export interface TransportOptions extends AbortOptions {
  /**
   * Dial again when the relay answers that the peer is not there, or a dial fails (default
   * true: a cafe page that just opened may not have reserved yet). False for a peer that may
   * simply be offline: one dial, whose answer is final (the relay's is a `PeerAbsentError`).
   */
  redialAbsent?: boolean
}

export type CafeTransport = (cafe: { id: string, addrs: string[] }, request: Request, options?: TransportOptions) => Promise<Response>

/** One call's options: the caller's signal, and a longer deadline for long transfers. */
export interface CallOptions extends AbortOptions { timeoutMs?: number }

/** How calls reach one peer: a request for a path (with or without a session added) and its answer. */
export type Call = (path: string, init: RequestInit, options: CallOptions) => Promise<Response>

/** What `GET /cafe/v1/inbox` answers: a page in arrival order, and whether more follow. */
export type InboxPage = Awaited<ReturnType<CafeInbox['list']>>
/** What `GET /cafe/v1/storage` answers. */
export type StorageReport = ClientHoldings & { persistent: boolean }
/** What `GET /cafe/v1/pins` answers: how many match, and a page of them, newest first. */
export interface PinList { count: number, results: PinStatus[] }
/** What `GET /cafe/v1/info` answers, to anyone. */
export interface CafeInfo { peerId: string, name: string, open: boolean, version: string }

/** A Pinning Service API list query (`GET /pins`), as the spec names its filters. */
export interface PinQuery { cid?: string[], name?: string, match?: 'exact' | 'iexact' | 'partial' | 'ipartial', status?: string[], before?: string, limit?: number }

/** Pins a page may hold at most (the spec's and the cafe's bound). */
const MAX_PAGE = 1000

/** A refusal a peer answered (`who`: `cafe`, `peer`), read within bounds, as a LightcafeError (see refusalError). */
export async function refusalOf (res: Response, who: string): Promise<LightcafeError> {
  const body = await readJson(res, { maxBytes: REMOTE_BODY_LIMITS.errorBytes, what: 'an error body' }).catch(() => null)
  return refusalError(res.status, body, who)
}

/** Calls to peer `id` over `transport` as they are, no session added (`options`: each call's, made anew per call). */
export function bareCall (transport: CafeTransport, id: string, options: () => TransportOptions = () => ({})): Call {
  return async (path, init, call) => {
    const base = options()
    return transport({ id, addrs: [] }, new Request(`http://peer${path}`, init), { ...base, ...(call.signal != null ? { signal: call.signal } : {}) })
  }
}

const postJson = (body: unknown, method = 'POST'): RequestInit => ({ method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

/**
 * The wire of one of our HTTP APIs, written once: a refusal becomes its LightcafeError, an answer
 * is read within its cap (and before the signal fires), and a body nobody reads is cancelled (over
 * libp2p that frees the stream at once). Every answer is the peer's word: callers check what they
 * rely on (the types say what an honest peer sends).
 */
abstract class Wire {
  readonly #call: Call
  /** What answers, in refusals (`cafe: REASON: details`). */
  protected abstract readonly kind: string
  /** Which one, in errors reading its answers (`the inbox of cafe <id>`). */
  readonly #peer: string

  constructor (call: Call, peer = '') {
    this.#call = call
    this.#peer = peer
  }

  /** The answer; a refusal (other than the `allowed` statuses, or any when `true`) is thrown. */
  protected async send (path: string, init: RequestInit = {}, options: CallOptions = {}, allowed: readonly number[] | true = []): Promise<Response> {
    const res = await this.#call(path, init, options)
    if (!res.ok && allowed !== true && !allowed.includes(res.status)) throw await refusalOf(res, this.kind)
    return res
  }

  /** The answer's JSON, within `maxBytes`. */
  protected async json<T> (path: string, init: RequestInit, options: CallOptions, maxBytes: number, what: string): Promise<T> {
    return await this.read(await this.send(path, init, options), options, maxBytes, what) as T
  }

  protected async read (res: Response, options: CallOptions, maxBytes: number, what: string): Promise<unknown> {
    return readJson(res, { maxBytes, what: `${what} of ${this.kind} ${this.#peer}`.trimEnd(), signal: options.signal })
  }

  /** Only the status: the body is cancelled unread. */
  protected async status (path: string, init: RequestInit = {}, options: CallOptions = {}, allowed: readonly number[] | true = []): Promise<number> {
    const res = await this.send(path, init, options, allowed)
    await res.body?.cancel()
    return res.status
  }
}

/**
 * The cafe API (`/cafe/v1`) as a client calls it, as `@libp2p/fetch` hides its protocol behind
 * `fetch(peer, key)`: each route one method, its path, body and answer typed from the cafe's own
 * modules. `call` says how requests travel: through `CafeClient.api()` with this account's
 * session, or bare for what needs none (registering, delivering, reading a contact, searching).
 */
export class CafeApi extends Wire {
  protected readonly kind = 'cafe'

  // Sessions
  async challenge (address: string, options?: CallOptions): Promise<{ nonce: string }> {
    return this.json('/cafe/v1/sessions/challenge', postJson({ address }), options ?? {}, REMOTE_BODY_LIMITS.cafeAnswerBytes, 'the challenge')
  }

  async register (body: { address: string, token: string, nonce: string, sig: string }, options?: CallOptions): Promise<Session> {
    return this.json('/cafe/v1/sessions', postJson(body), options ?? {}, REMOTE_BODY_LIMITS.cafeAnswerBytes, 'the session')
  }

  /** A new session pair for the refresh token (which it spends). */
  async refresh (refreshToken: string, options?: CallOptions): Promise<Session> {
    const init = { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${refreshToken}` }, body: '{}' }
    return this.json('/cafe/v1/sessions/refresh', init, options ?? {}, REMOTE_BODY_LIMITS.cafeAnswerBytes, 'the session')
  }

  /** Ends the session; false when the cafe had ended it already (401). */
  async endSession (options?: CallOptions): Promise<boolean> {
    return await this.status('/cafe/v1/sessions', { method: 'DELETE' }, options, [401]) !== 401
  }

  async info (options?: CallOptions): Promise<CafeInfo> {
    return this.json('/cafe/v1/info', {}, options ?? {}, REMOTE_BODY_LIMITS.infoBytes, 'the info')
  }

  // Contacts and inbox
  /** Publishes this account's contact; false when the cafe refused it. */
  async publishContact (contact: Contact, options?: CallOptions): Promise<boolean> {
    return await this.status('/cafe/v1/contacts', postJson(contact, 'PUT'), options, true) < 300
  }

  /** A contact the cafe holds (to be verified: any cafe may answer anything). */
  async contact (address: string, options?: CallOptions): Promise<unknown> {
    return this.json(`/cafe/v1/contacts/${encodeURIComponent(address)}`, {}, options ?? {}, REMOTE_BODY_LIMITS.contactBytes, 'the contact')
  }

  async deliver (envelope: Envelope, options?: CallOptions): Promise<Delivery> {
    return this.json('/cafe/v1/inbox', postJson(envelope), options ?? {}, REMOTE_BODY_LIMITS.cafeAnswerBytes, 'the delivery answer')
  }

  /** What became of each envelope, in order (an entry that is not one is undefined). */
  async deliverMany (envelopes: Envelope[], options?: CallOptions): Promise<Array<Partial<BatchDelivery> | undefined>> {
    const { results } = await this.json<{ results?: unknown }>('/cafe/v1/inbox/batch', postJson({ envelopes }), options ?? {}, REMOTE_BODY_LIMITS.cafeAnswerBytes, 'the batch answer')
    return envelopes.map((_, i) => {
      const r: unknown = Array.isArray(results) ? results[i] : undefined
      return typeof r === 'object' && r != null ? r : undefined
    })
  }

  async inbox (page: { after: number, limit: number }, options?: CallOptions): Promise<InboxPage> {
    return this.json(`/cafe/v1/inbox?limit=${page.limit}&after=${page.after}`, {}, options ?? {}, REMOTE_BODY_LIMITS.pageBytes, 'the inbox')
  }

  /** Acknowledges messages (the cafe deletes them); those it no longer holds (404) count as done. */
  async ack (messages: Array<Pick<Envelope, 'from' | 'id'>>, options?: CallOptions): Promise<void> {
    await this.status('/cafe/v1/inbox/ack', postJson({ messages }), options, [404])
  }

  // Pins (the Pinning Service API) and uploads
  async pins (query: PinQuery, options?: CallOptions): Promise<PinList> {
    const q = new URLSearchParams()
    if (query.cid != null) q.set('cid', query.cid.join(','))
    if (query.name != null) q.set('name', query.name)
    if (query.match != null) q.set('match', query.match)
    if (query.status != null) q.set('status', query.status.join(','))
    if (query.before != null) q.set('before', query.before)
    q.set('limit', String(query.limit ?? MAX_PAGE))
    return this.json(`/cafe/v1/pins?${q.toString()}`, {}, options ?? {}, REMOTE_BODY_LIMITS.pageBytes, 'the pins')
  }

  /** Every pin the query matches, newest first, a page at a time (paged by `before`, as the spec says). */
  async * allPins (query: Omit<PinQuery, 'before' | 'limit'>, options?: CallOptions): AsyncGenerator<PinStatus> {
    let before: string | undefined
    for (;;) {
      const page = await this.pins({ ...query, ...(before != null ? { before } : {}) }, options)
      yield * page.results
      if (page.results.length === 0 || page.count <= page.results.length) return
      before = page.results[page.results.length - 1].created
    }
  }

  /** Deletes a pin; one the cafe no longer has (404) counts as deleted. */
  async unpin (requestid: string, options?: CallOptions): Promise<void> {
    await this.status(`/cafe/v1/pins/${encodeURIComponent(requestid)}`, { method: 'DELETE' }, options, [404])
  }

  /** Uploads a CAR (one root: the DAG to pin), streamed; the pin as the cafe made it. */
  async upload (car: ReadableStream<Uint8Array>, pin: { name: string, meta: Record<string, string> }, options?: CallOptions): Promise<PinStatus> {
    const path = `/cafe/v1/uploads?name=${encodeURIComponent(pin.name)}&meta=${encodeURIComponent(JSON.stringify(pin.meta))}`
    return this.json(path, { method: 'POST', headers: { 'content-type': 'application/vnd.ipld.car' }, body: car }, options ?? {}, REMOTE_BODY_LIMITS.cafeAnswerBytes, 'the upload answer')
  }

  /** Have/want: which of `cids` the cafe still needs, as it said it (have-want.ts checks); undefined when it predates the question (404). */
  async missing (cids: string[], options?: CallOptions): Promise<{ missing?: unknown } | undefined> {
    const res = await this.send('/cafe/v1/blocks/missing', postJson({ cids }), options, [404])
    if (res.status === 404) { await res.body?.cancel(); return undefined }
    return await this.read(res, options ?? {}, REMOTE_BODY_LIMITS.cafeAnswerBytes, 'the have/want answer') as { missing?: unknown }
  }

  /** A proof of storage: the blocks asked, as a CAR to check; undefined when the cafe's bound on proofs says not now (429). */
  async prove (cids: string[], options?: CallOptions): Promise<ReadableStream<Uint8Array> | undefined> {
    const res = await this.send('/cafe/v1/proofs', postJson({ cids }), options, [429])
    if (res.status === 429 || res.body == null) { await res.body?.cancel(); return undefined }
    return res.body
  }

  async storage (options?: CallOptions): Promise<StorageReport> {
    return this.json('/cafe/v1/storage', {}, options ?? {}, REMOTE_BODY_LIMITS.cafeAnswerBytes, 'the storage answer')
  }

  /** A DAG as a CAR (the blocks the cafe holds of it); undefined when it holds not even the root (404). */
  async car (cid: string, options?: CallOptions): Promise<ReadableStream<Uint8Array> | undefined> {
    const res = await this.send(`/cafe/v1/ipfs/${cid}?format=car`, {}, options, [404])
    if (res.status === 404 || res.body == null) { await res.body?.cancel(); return undefined }
    return res.body
  }

  // Snapshots
  async snapshots (options?: CallOptions): Promise<SnapshotView[]> {
    return this.json('/cafe/v1/snapshots', {}, options ?? {}, REMOTE_BODY_LIMITS.pageBytes, 'the snapshots')
  }

  async snapshot (id: string, options?: CallOptions): Promise<Pick<SnapshotRecord, 'id' | 'ciphertext'>> {
    return this.json(`/cafe/v1/snapshots/${encodeURIComponent(id)}`, {}, options ?? {}, REMOTE_BODY_LIMITS.pageBytes, 'the snapshot')
  }

  /** Stores a thread's snapshot (a cafe without snapshots, 404, is left alone). */
  async putSnapshot (id: string, ciphertext: string, options?: CallOptions): Promise<void> {
    await this.status(`/cafe/v1/snapshots/${encodeURIComponent(id)}`, postJson({ ciphertext }, 'PUT'), options, [404])
  }

  // Search
  /** One search query; the answer is the cafe's word (the search verifies every contact). */
  async search (query: Record<string, unknown>, options?: CallOptions): Promise<unknown> {
    return this.json('/cafe/v1/search', postJson(query), options ?? {}, REMOTE_BODY_LIMITS.searchAnswerBytes, 'the answer')
  }
}

/** A peer's own API (`/client/v1`, src/client/peer-api.ts) as another peer calls it. */
export class PeerApi extends Wire {
  protected readonly kind = 'peer'

  /** The peer's account contact (to be verified). */
  async contact (options?: CallOptions): Promise<unknown> {
    return this.json('/client/v1/contact', {}, options ?? {}, REMOTE_BODY_LIMITS.contactBytes, 'the contact')
  }

  /** Delivers an envelope straight to the recipient's peer. */
  async deliver (envelope: Envelope, options?: CallOptions): Promise<void> {
    await this.status('/client/v1/inbox', postJson(envelope), options)
  }
}
