import { TypedEventEmitter } from 'main-event'
import { isAddress, registrationMessage, verifyAccountSignature } from '../account/index.ts'
import { fromBase64url, randomBytes, toBase64url } from '../shared/bytes.ts'
import { ForbiddenError, InvalidInputError, NotFoundError, UnauthorizedError } from '../shared/errors.ts'
import { stringField as field } from '../shared/json.ts'
import { SESSION_LIMITS } from './limits.ts'
import { Nonces } from './nonces.ts'
import type { ChallengeCaller } from './nonces.ts'
import { SessionTokens } from './sessions.ts'
import { DEFAULT_SETTINGS } from './store.ts'
import { checkToken, newToken, parseToken } from './tokens.ts'
import type { CafeSettings, CafeStore, SessionRecord } from './store.ts'

/** A session as the client receives it. Times are ISO-8601. */
export interface Session { id: string, cafe: string, address: string, access: string, exp: string, refresh: string, rexp: string }

export interface AuthenticatedClient { address: string, peerId: string, sid: string }

/** A client as its cafe's owner sees it; `lost`: pins whose blocks this cafe's storage lost (not counted in `pins`). */
export interface ClientView { address: string, peerId: string, registered: string, lastSeen: string, quota: number, bytes: number, pins: number, lost: number, snapshots: number, inbox: number }

/** What the cafe's services report and do per client, for the owner's views and removals. */
export interface ClientServices {
  usage(address: string): Promise<{ bytes?: number, pins?: number, lost?: number, snapshots?: number, inbox?: number }>
  /** The client is gone (removed or left): drop everything kept for it. */
  forget(address: string): Promise<void>
}

/** A registration as the client sends it (`POST /cafe/v1/sessions`), its fields checked at the route (`parseRegistration`). */
export interface RegisterRequest { address: string, token: string, nonce: string, sig: string }

/** Checks a registration's fields: strings of bounded length (what each is, the host checks). */
export function parseRegistration (body: Record<string, unknown>): RegisterRequest {
  return { address: field('address', body.address, 64), token: field('token', body.token, 256), nonce: field('nonce', body.nonce, 64), sig: field('sig', body.sig, 128) }
}

/** Checks a challenge's body: `{address}`, a string of bounded length. */
export function parseChallenge (body: Record<string, unknown>): { address: string } {
  return { address: field('address', body.address, 64) }
}

export interface CafeHostInit {
  peerId: string
  /** libp2p Ed25519 private key `.raw`: 32-byte seed | 32-byte public key. Signs sessions. */
  privateKeyRaw: Uint8Array
  store: CafeStore
  now?: () => number
}

/** What the host tells: its settings after every change (cafe mode on/off drives the directory announcements). */
export interface CafeHostEvents { settings: CustomEvent<CafeSettings> }

/**
 * The cafe's host side of sessions: access tokens (owner), challenges and registrations
 * (clients), and JWT sessions bound to a client's account and peer id.
 */
export class CafeHost extends TypedEventEmitter<CafeHostEvents> {
  readonly peerId: string
  readonly #store: CafeStore
  readonly #now: () => number
  readonly #nonces: Nonces
  readonly #tokens: SessionTokens
  readonly #lastSeen = new Map<string, number>()
  // Sessions read on every request; this host is the store's only writer, so a cache kept
  // in step with its own writes stays true. Bounded: cleared when it grows past the limit.
  readonly #sessions = new Map<string, SessionRecord>()
  // Bumped by every removal: a store read that began before a removal is not cached, or a
  // removed client's session could come back from a read that raced the delete.
  #epoch = 0
  #settings: Promise<CafeSettings> | undefined
  readonly #services: ClientServices[] = []

  constructor (init: CafeHostInit) {
    super()
    this.peerId = init.peerId
    this.#store = init.store
    this.#now = init.now ?? Date.now
    this.#nonces = new Nonces(this.#now)
    this.#tokens = new SessionTokens(init.peerId, init.privateKeyRaw, this.#now)
  }

  #iso (ms = this.#now()): string { return new Date(ms).toISOString() }

  /** Adds a service whose per-client usage the owner sees and whose data goes with the client. */
  useService (service: ClientServices): void { this.#services.push(service) }

  async #forget (address: string): Promise<void> {
    for (const s of this.#services) await s.forget(address)
  }

  /** A registered client's peer id (where to push to it); undefined if the address is not registered. */
  async clientPeer (address: string): Promise<string | undefined> {
    return (await this.#store.getClient(address))?.peerId
  }

  /**
   * The quota that applies to a client: its own, or the cafe's default. An address that is not
   * a client (removed while a request of its ran) may keep nothing: 0.
   */
  async quotaOf (address: string): Promise<number> {
    const client = await this.#store.getClient(address)
    if (client == null) return 0
    return client.quota ?? (await this.getSettings()).quotaBytes
  }

  /** The owner sets a client's quota in bytes (undefined: back to the cafe's default). */
  async setClientQuota (address: string, quota: number | undefined): Promise<void> {
    if (quota != null && (!Number.isSafeInteger(quota) || quota < 0)) throw new InvalidInputError('INVALID_FIELD', 'quota must be a whole number of bytes, or null for the default')
    if (!(await this.#store.setClientQuota(address, quota))) throw new NotFoundError('CLIENT_NOT_FOUND', `no registered client ${address}`)
  }

  // --- owner ---

  // Read on every request (the disabled check); only this host writes them, so cache them.
  async getSettings (): Promise<CafeSettings> {
    this.#settings ??= this.#store.getSettings().catch((err: unknown) => { this.#settings = undefined; throw err })
    return { ...(await this.#settings) }
  }

  async setSettings (patch: Partial<CafeSettings>): Promise<CafeSettings> {
    const next = { ...DEFAULT_SETTINGS, ...(await this.getSettings()), ...patch }
    await this.#store.putSettings(next)
    this.#settings = Promise.resolve(next)
    this.safeDispatchEvent('settings', { detail: { ...next } })
    return { ...next }
  }

  async createToken (): Promise<{ id: string, token: string }> {
    const { token, record } = await newToken(new Date(this.#now()))
    await this.#store.putToken(record)
    return { id: record.id, token }
  }

  async listTokens (): Promise<Array<{ id: string, created: string, revoked?: string, usedBy?: string }>> {
    const rows = await this.#store.listTokens()
    return rows.sort((a, b) => a.created.localeCompare(b.created))
      .map(({ id, created, revoked, usedBy }) => ({ id, created, ...(revoked != null ? { revoked } : {}), ...(usedBy != null ? { usedBy } : {}) }))
  }

  /**
   * Revoking a token stops new registrations with it. Clients already registered keep
   * their sessions: to end those, the owner removes the client.
   */
  async revokeToken (id: string): Promise<void> {
    const t = await this.#store.getToken(id)
    if (t == null) throw new NotFoundError('TOKEN_NOT_FOUND', `no access token ${id}`)
    if (t.revoked == null) await this.#store.putToken({ ...t, revoked: this.#iso() })
  }

  async listClients (): Promise<ClientView[]> {
    const rows = await this.#store.listClients()
    const settings = await this.getSettings()
    const views: ClientView[] = []
    for (const c of rows.sort((a, b) => a.registered.localeCompare(b.registered))) {
      const view: ClientView = { address: c.address, peerId: c.peerId, registered: c.registered, lastSeen: c.lastSeen, quota: c.quota ?? settings.quotaBytes, bytes: 0, pins: 0, lost: 0, snapshots: 0, inbox: 0 }
      for (const s of this.#services) {
        const u = await s.usage(c.address)
        view.bytes += u.bytes ?? 0
        view.pins += u.pins ?? 0
        view.lost += u.lost ?? 0
        view.snapshots += u.snapshots ?? 0
        view.inbox += u.inbox ?? 0
      }
      views.push(view)
    }
    return views
  }

  /**
   * Ends the client's sessions, revokes the tokens it registered with (it comes back only with
   * a new invitation), aborts its uploads and pulls, and forgets everything kept for it.
   */
  async removeClient (address: string): Promise<void> {
    if (!(await this.#drop(address, async () => this.#store.removeClient(address, { revokeTokens: this.#iso() })))) {
      throw new NotFoundError('CLIENT_NOT_FOUND', `no registered client ${address}`)
    }
    await this.#forget(address)
  }

  // --- clients ---

  /** A challenge for `input` (an address), bound to the caller asking (libp2p peer id; 'local' same-origin; over HTTP its connection, see ChallengeCaller). */
  challenge (address: string, caller: string | ChallengeCaller = 'local'): { nonce: string, exp: string } {
    if (!isAddress(address)) throw new InvalidInputError('INVALID_ADDRESS', 'address must be an account address (z6Mk…)')
    const { nonce, exp } = this.#nonces.issue(address, caller)
    return { nonce, exp: this.#iso(exp) }
  }

  /**
   * Registers (or re-registers) an account, its session bound to `peerId`. `caller` is who sent
   * the request (as for challenge): only the caller that got the challenge may spend it.
   * Nothing is stored unless every check passes.
   */
  async register (req: RegisterRequest, peerId: string, caller = 'local'): Promise<Session> {
    const { address, token, nonce, sig } = req
    if (!isAddress(address)) throw new InvalidInputError('INVALID_ADDRESS', 'address must be an account address (z6Mk…)')
    if (!this.#nonces.consume(address, nonce, caller)) throw new UnauthorizedError('NONCE_INVALID', 'the challenge nonce is unknown, used or expired; ask for a new one')
    let sigBytes: Uint8Array
    try { sigBytes = fromBase64url(sig) } catch { throw new UnauthorizedError('BAD_SIGNATURE', 'sig is not base64url', { as: 'credential' }) }
    if (!(await verifyAccountSignature(address, registrationMessage(this.peerId, address, nonce), sigBytes))) {
      throw new UnauthorizedError('BAD_SIGNATURE', 'the registration is not signed by this address\'s account key', { as: 'credential' })
    }
    const { id, secret } = parseToken(token)
    await checkToken(await this.#store.getToken(id), secret, address)

    const now = this.#iso()
    const previous = await this.#store.getClient(address)
    if (previous == null && (await this.getSettings()).open === false) throw new ForbiddenError('REGISTRATION_CLOSED', 'this cafe is not taking new clients right now; ask its owner')
    const sid = toBase64url(randomBytes(16))
    const pair = await this.#tokens.issue({ sub: address, sid, peer: peerId })
    // The store checks the token's state again inside its transaction (revoked or taken meanwhile).
    await this.#store.register({
      client: { address, peerId, registered: previous?.registered ?? now, lastSeen: now, tokenId: id },
      session: { sid, address, peerId, refreshJti: pair.refreshJti, created: now },
      tokenId: id
    })
    return this.#session(sid, address, pair)
  }

  #session (sid: string, address: string, pair: { access: string, exp: number, refresh: string, rexp: number }): Session {
    return { id: sid, cafe: this.peerId, address, access: pair.access, exp: this.#iso(pair.exp * 1000), refresh: pair.refresh, rexp: this.#iso(pair.rexp * 1000) }
  }

  async #cachedSession (sid: string): Promise<SessionRecord | undefined> {
    const hit = this.#sessions.get(sid)
    if (hit != null) return hit
    const epoch = this.#epoch
    const s = await this.#store.getSession(sid)
    if (s != null && epoch === this.#epoch) {
      if (this.#sessions.size >= SESSION_LIMITS.sessionCacheSize) this.#sessions.clear()
      this.#sessions.set(sid, s)
    }
    return s
  }

  /** Runs a store write that ends sessions, keeping the cache out of the way before and after it. */
  async #drop<T> (address: string, write: () => Promise<T>, sid?: string): Promise<T> {
    const forget = (): void => {
      this.#epoch++
      for (const [k, s] of this.#sessions) if (sid != null ? k === sid : s.address === address) this.#sessions.delete(k)
    }
    forget()
    try {
      return await write()
    } finally {
      forget()
      if (sid == null) this.#lastSeen.delete(address)
    }
  }

  async #live (sid: string, sub: string, peer: string, callerPeer: string | undefined): Promise<SessionRecord> {
    const s = await this.#cachedSession(sid)
    if (s == null || s.address !== sub) throw new UnauthorizedError('SESSION_ENDED', 'this session has ended; register again')
    // Over libp2p Noise has authenticated the caller: a session works only from its peer.
    // Same-origin callers (through the service worker) have no peer id to check (undefined):
    // they are this origin's own code, which can read the cafe's storage anyway.
    if (callerPeer !== undefined && callerPeer !== peer) throw new ForbiddenError('PEER_MISMATCH', 'this session belongs to another peer')
    return s
  }

  /**
   * Rotates the pair. A refresh token that was already rotated means theft (or a copy in two
   * places, which is as bad): the session ends. One exception keeps a lost answer from ending
   * a session: the token rotated last, used again within SESSION_LIMITS.refreshGraceMs, gets
   * the same new pair again (its holder never received it). The rotation is a compare-and-set
   * in the store, so of two concurrent refreshes with one token one rotates and the other gets
   * the same pair.
   */
  async refresh (refreshJwt: unknown, callerPeer?: string): Promise<Session> {
    const claims = await this.#tokens.verify(refreshJwt, 'refresh')
    const s = await this.#live(claims.sid, claims.sub, claims.peer, callerPeer)
    const now = this.#now()
    const pair = await this.#tokens.issue({ sub: s.address, sid: s.sid, peer: s.peerId })
    const issued = this.#session(s.sid, s.address, pair)
    const tokens = { access: issued.access, exp: issued.exp, refresh: issued.refresh, rexp: issued.rexp }
    const epoch = this.#epoch
    const rotation = await this.#store.rotateRefresh(s.sid, claims.jti, { jti: pair.refreshJti, until: this.#iso(now + SESSION_LIMITS.refreshGraceMs), pair: tokens }, this.#iso(now))
    if (rotation === 'rotated') {
      // A removal meanwhile: leave the cache empty and let the store answer next time.
      if (epoch === this.#epoch) this.#sessions.set(s.sid, { ...s, refreshJti: pair.refreshJti, previous: { jti: claims.jti, until: this.#iso(now + SESSION_LIMITS.refreshGraceMs), pair: tokens } })
      else this.#sessions.delete(s.sid)
      return issued
    }
    if (typeof rotation === 'object') return { id: s.sid, cafe: this.peerId, address: s.address, ...rotation.replay }
    if (rotation === 'gone') {
      await this.#drop(s.address, async () => {}, s.sid)
      throw new UnauthorizedError('SESSION_ENDED', 'this session has ended; register again')
    }
    await this.#drop(s.address, async () => this.#store.deleteSession(s.sid), s.sid)
    throw new UnauthorizedError('REFRESH_REUSED', 'this refresh token was already used; the session has been ended')
  }

  /** Verifies an access JWT for a request. */
  async authenticate (accessJwt: unknown, callerPeer?: string): Promise<AuthenticatedClient> {
    const claims = await this.#tokens.verify(accessJwt, 'access')
    const s = await this.#live(claims.sid, claims.sub, claims.peer, callerPeer)
    const now = this.#now()
    if (now - (this.#lastSeen.get(s.address) ?? 0) > SESSION_LIMITS.lastSeenEveryMs) {
      this.#lastSeen.set(s.address, now)
      await this.#store.touchClient(s.address, this.#iso(now))
    }
    return { address: s.address, peerId: s.peerId, sid: s.sid }
  }

  /** The client leaves: it and its sessions are forgotten. */
  async deregister (accessJwt: unknown, callerPeer?: string): Promise<void> {
    const who = await this.authenticate(accessJwt, callerPeer)
    await this.#drop(who.address, async () => this.#store.removeClient(who.address))
    await this.#forget(who.address)
  }
}
