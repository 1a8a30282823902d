import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { TypedEventEmitter } from 'main-event'
import { registrationMessage } from '../account/index.ts'
import { backoff } from '../shared/backoff.ts'
import { Wake } from '../shared/wake.ts'
import { toBase64url } from '../shared/bytes.ts'
import { causeOf } from '../shared/error-cause.ts'
import { InvalidInputError, LightcafeError, NotFoundError, UnauthorizedError, UnavailableError } from '../shared/errors.ts'
import { PeerError } from '../node/errors.ts'
import { streamingRequest } from '../shared/request-body.ts'
import { CafeApi } from './cafe-api.ts'
import type { CafeTransport, CallOptions } from './cafe-api.ts'
import type { Account } from '../account/index.ts'
import type { Session } from '../cafe/host.ts'
import type { AbortOptions } from '@libp2p/interface'
import type { CafeSession, SessionStore } from './session-store.ts'

export type { CafeTransport, TransportOptions } from './cafe-api.ts'

export const CLIENT_TIMING = {
  /** Refresh this long before the access token expires, so requests never carry a stale one. */
  refreshAheadMs: 60_000,
  /** A cafe request that takes longer than this is abandoned (the cafe or the path is gone). */
  requestTimeoutMs: 20_000,
  /**
   * A refresh that got no answer is retried after this, doubling up to the cap: its answer may
   * have been lost after the cafe rotated, and the cafe gives the same pair again to a retry
   * with the old token only within its grace window (SESSION_LIMITS.refreshGraceMs, 60 s).
   */
  refreshRetryMs: 2_000,
  maxRefreshRetryMs: 15_000,
  maxRefreshRetries: 6
} as const

export interface CafeTarget { id: string, addrs: string[] }

/** A cafe named by its peer id or by a multiaddr ending in /p2p/<peer id>. */
/** Checks a request to join a cafe (`POST /api/v0/cafes`): the cafe as `parseCafe` reads it, and the owner's token. */
export function parseJoin (body: Record<string, unknown>): { cafe: string, token: string } {
  const { cafe, token } = body
  parseCafe(cafe)
  if (typeof token !== 'string' || token.length === 0 || token.length > 256) throw new InvalidInputError('INVALID_TOKEN', 'token must be the access token string the cafe owner gave you')
  return { cafe: cafe as string, token }
}

export function parseCafe (cafe: unknown): CafeTarget {
  if (typeof cafe !== 'string' || cafe.length === 0 || cafe.length > 1024) throw new InvalidInputError('INVALID_CAFE', 'cafe must be a peer id or a multiaddr ending in /p2p/<peer id>')
  try {
    if (cafe.startsWith('/')) {
      const id = multiaddr(cafe).getComponents().findLast(c => c.name === 'p2p')?.value
      if (id == null) throw new Error('no /p2p/')
      return { id: peerIdFromString(id).toString(), addrs: [cafe] }
    }
    return { id: peerIdFromString(cafe).toString(), addrs: [] }
  } catch {
    throw new InvalidInputError('INVALID_CAFE', 'cafe must be a peer id or a multiaddr ending in /p2p/<peer id>')
  }
}

/** What the client tells: a session was added, refreshed, lost or removed. */
export interface CafeClientEvents { change: CustomEvent<void> }

/**
 * This peer as a client of cafes: registers (challenge, signed registration, token),
 * keeps sessions in IndexedDB, refreshes them before they expire (one refresh at a time
 * per cafe: refresh tokens rotate, and a reused one ends the session), and sends
 * authenticated requests.
 */
export class CafeClient extends TypedEventEmitter<CafeClientEvents> {
  readonly #account: () => Account
  readonly #store: SessionStore
  readonly #transport: CafeTransport
  readonly #refreshing = new Map<string, Promise<CafeSession>>()
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>()
  /** Failed refreshes in a row per cafe: the retry's backoff. */
  readonly #failures = new Map<string, number>()
  /** Cafe → the cancel of its refresh retry (a wake runs it at once). */
  readonly #retries = new Map<string, () => void>()
  readonly #wake: Wake
  #stopped = false
  #now: () => number

  /** `wake`: when it fires (the network or the cafe came back), a refresh waiting to be retried runs at once. */
  constructor (init: { account: () => Account, store: SessionStore, transport: CafeTransport, wake?: Wake, now?: () => number }) {
    super()
    this.#account = init.account
    this.#store = init.store
    this.#transport = init.transport
    this.#wake = init.wake ?? new Wake()
    this.#now = init.now ?? Date.now
  }

  /** Schedules refreshes for the sessions kept from earlier runs. */
  async start (): Promise<void> {
    for (const s of await this.#store.list()) this.#schedule(s)
  }

  stop (): void {
    this.#stopped = true
    for (const t of this.#timers.values()) clearTimeout(t)
    this.#timers.clear()
    for (const cancel of this.#retries.values()) cancel()
    this.#retries.clear()
  }

  async list (): Promise<CafeSession[]> { return this.#store.list() }

  async get (id: string): Promise<CafeSession> {
    const s = await this.#store.get(id)
    if (s == null) throw new NotFoundError('CAFE_NOT_FOUND', `not registered with cafe ${id}`)
    return s
  }

  async #send (cafe: CafeTarget, request: Request, timeoutMs: number = CLIENT_TIMING.requestTimeoutMs, options: AbortOptions = {}): Promise<Response> {
    options.signal?.throwIfAborted()
    const timeout = AbortSignal.timeout(timeoutMs)
    try {
      return await this.#transport(cafe, request, { signal: options.signal != null ? AbortSignal.any([options.signal, timeout]) : timeout })
    } catch (err) {
      // A refusal stands, and so does the caller's abort; not reaching the peer at all is the cafe being unreachable.
      if (err instanceof LightcafeError && !(err instanceof PeerError)) throw err
      if (options.signal?.aborted === true) throw options.signal.reason
      throw new UnavailableError('CAFE_UNREACHABLE', `could not reach cafe ${cafe.id}: ${causeOf(err)}`)
    }
  }

  /** The cafe API as it is, no session added: registering, and refreshing (which carries its own token). */
  #bare (cafe: CafeTarget): CafeApi {
    return new CafeApi(async (path, init, options) => this.#send(cafe, new Request(`http://cafe${path}`, init), options.timeoutMs, options), cafe.id)
  }

  /** The cafe API over this account's session with cafe `id`, refreshed before it expires (see `request`). */
  api (id: string): CafeApi {
    return new CafeApi(async (path, init, options) => this.request(id, path, init, options), id)
  }

  /** Registers this account with a cafe (a peer id or `/p2p/` multiaddr) using an access token from its owner (checked at the route: `parseJoin`). */
  async register (cafe: string, token: string, options: AbortOptions = {}): Promise<CafeSession> {
    const target = parseCafe(cafe)
    const account = this.#account()
    const cafeApi = this.#bare(target)
    const { nonce } = await cafeApi.challenge(account.address, options)
    const sig = toBase64url(account.sign(registrationMessage(target.id, account.address, nonce)))
    const issued = await cafeApi.register({ address: account.address, token, nonce, sig }, options)
    // The transport authenticated the cafe's peer id; a session naming another cafe is refused.
    if (issued.cafe !== target.id || issued.address !== account.address) throw new UnauthorizedError('SESSION_MISMATCH', 'the cafe answered with a session for another cafe or account')
    const previous = await this.#store.get(target.id)
    const session: CafeSession = {
      id: target.id,
      addrs: [...new Set([...target.addrs, ...(previous?.addrs ?? [])])],
      sid: issued.id,
      address: issued.address,
      access: issued.access,
      exp: issued.exp,
      refresh: issued.refresh,
      rexp: issued.rexp,
      registered: new Date(this.#now()).toISOString()
    }
    await this.#store.put(session)
    this.#schedule(session)
    this.#changed()
    return session
  }

  /** Exchanges the refresh token for a new pair. Concurrent callers share one refresh. */
  async refresh (id: string): Promise<CafeSession> {
    const running = this.#refreshing.get(id)
    if (running != null) return running
    const job = this.#doRefresh(id).finally(() => this.#refreshing.delete(id))
    this.#refreshing.set(id, job)
    return job
  }

  async #doRefresh (id: string): Promise<CafeSession> {
    const s = await this.get(id)
    if (s.ended != null) throw new UnauthorizedError('SESSION_ENDED', `the session with cafe ${id} ended (${s.ended.reason}); register again with a token`)
    let issued: Session
    try {
      issued = await this.#bare(s).refresh(s.refresh)
    } catch (err) {
      if (err instanceof LightcafeError && err.status === 401) {
        await this.#store.put({ ...s, ended: { reason: err.reason, at: new Date(this.#now()).toISOString() } })
        this.#changed()
      } else {
        // No answer, or not one that ends the session: the cafe may have rotated already, so
        // retry with the same (stored) token soon, inside its grace window.
        this.#retryLater(s)
      }
      throw err
    }
    const next: CafeSession = { ...s, sid: issued.id, access: issued.access, exp: issued.exp, refresh: issued.refresh, rexp: issued.rexp }
    // Written before anything uses it: a reload from here on starts from the new pair.
    await this.#store.put(next)
    this.#failures.delete(id)
    this.#schedule(next)
    this.#changed()
    return next
  }

  /**
   * An authenticated request to a cafe: refreshes first when the access token is about to
   * expire. `timeoutMs` bounds the whole exchange (long uploads pass their own); `signal`
   * aborts it sooner.
   */
  async request (id: string, path: string, init: RequestInit = {}, opts: CallOptions = {}): Promise<Response> {
    let s = await this.get(id)
    if (s.ended != null) throw new UnauthorizedError('SESSION_ENDED', `the session with cafe ${id} ended (${s.ended.reason}); register again with a token`)
    if (Date.parse(s.exp) - this.#now() < CLIENT_TIMING.refreshAheadMs) s = await this.refresh(id)
    const headers = new Headers(init.headers)
    headers.set('authorization', `Bearer ${s.access}`)
    const url = `http://cafe${path}`
    return this.#send(s, init.body instanceof ReadableStream ? streamingRequest(url, { ...init, headers }, init.body) : new Request(url, { ...init, headers }), opts.timeoutMs, opts)
  }

  /** Ends the session on the cafe (it forgets this client) and then here. */
  async deregister (id: string, options: { force?: boolean } = {}): Promise<void> {
    const s = await this.get(id)
    if (s.ended == null) {
      try {
        // The cafe may have ended it already (401): nothing left to end there.
        await this.api(id).endSession()
      } catch (err) {
        if (options.force !== true) throw err
      }
    }
    clearTimeout(this.#timers.get(id))
    this.#timers.delete(id)
    this.#retries.get(id)?.()
    this.#retries.delete(id)
    await this.#store.delete(id)
    this.#changed()
  }

  #schedule (s: CafeSession): void {
    clearTimeout(this.#timers.get(s.id))
    this.#retries.get(s.id)?.()
    this.#retries.delete(s.id)
    if (s.ended != null) return
    const delay = Math.max(1_000, Date.parse(s.exp) - this.#now() - CLIENT_TIMING.refreshAheadMs)
    // setTimeout overflows past 2^31 ms; re-arm instead of firing early.
    this.#timers.set(s.id, setTimeout(() => {
      this.refresh(s.id).catch(() => { /* recorded on the session; retried at next request */ })
    }, Math.min(delay, 2 ** 31 - 1)))
  }

  #retryLater (s: CafeSession): void {
    if (this.#stopped) return
    const n = this.#failures.get(s.id) ?? 0
    // Past the cafe's window (2+4+8+15+15+15 s) a retry cannot recover a lost answer; the next request refreshes.
    if (n >= CLIENT_TIMING.maxRefreshRetries) return
    this.#failures.set(s.id, n + 1)
    clearTimeout(this.#timers.get(s.id))
    this.#retries.get(s.id)?.()
    this.#retries.set(s.id, this.#wake.after(backoff(n, { firstMs: CLIENT_TIMING.refreshRetryMs, maxMs: CLIENT_TIMING.maxRefreshRetryMs }), () => {
      this.#retries.delete(s.id)
      this.refresh(s.id).catch(() => { /* retried again, or recorded on the session */ })
    }))
  }

  #changed (): void { this.safeDispatchEvent('change') }
}
