import { bindToken } from './tokens.ts'
import type { TokenRecord } from './records.ts'

export type { TokenRecord } from './records.ts'

export interface ClientRecord {
  address: string
  peerId: string
  registered: string
  lastSeen: string
  tokenId: string
  /**
   * The owner's quota for this client in bytes; the cafe's default applies when absent. Kept
   * apart from the record, by address: it survives re-registration, leaving and removal.
   */
  quota?: number
}

export interface SessionRecord {
  sid: string
  address: string
  peerId: string
  /** Only this refresh token is valid for the session; older ones mean theft. */
  refreshJti: string
  created: string
  /**
   * The refresh token rotated last, and the pair it was exchanged for: a retry with it before
   * `until` (its answer was lost) gets that pair again; after `until` it is a reuse.
   */
  previous?: { jti: string, until: string, pair: IssuedTokens }
}

/** A session's tokens as handed to the client (times ISO-8601). */
export interface IssuedTokens { access: string, exp: string, refresh: string, rexp: string }

/** What a rotation writes: the new refresh jti, and the pair a retry with the old one gets until `until`. */
export interface NextRefresh { jti: string, until: string, pair: IssuedTokens }

export interface CafeSettings {
  enabled: boolean
  name: string
  /** Bytes of pinned data each client may keep, unless the owner set its own quota. */
  quotaBytes: number
  /** New accounts may register (with a token); false keeps serving the clients already registered. Absent: open. */
  open?: boolean
  /** The owner's inbox limits (see INBOX_LIMITS for the defaults). */
  inbox?: { perRecipientCount?: number, perRecipientBytes?: number, ttlMs?: number }
}

/** A registration's writes, applied together or not at all. */
export interface Registration { client: ClientRecord, session: SessionRecord, tokenId: string }

/**
 * What a refresh rotation found: done; a retry of the last rotation within its window (the
 * pair it gave, again); a refresh token rotated before that (reuse); or no session.
 */
export type Rotation = 'rotated' | { replay: IssuedTokens } | 'reused' | 'gone'

/** The rotation rule, applied by each store inside its transaction: the outcome and the record to write, if any. */
export function rotate (s: SessionRecord | undefined, expected: string, next: NextRefresh, now: string): { result: Rotation, write?: SessionRecord } {
  if (s == null) return { result: 'gone' }
  if (s.refreshJti === expected) return { result: 'rotated', write: { ...s, refreshJti: next.jti, previous: { jti: expected, until: next.until, pair: next.pair } } }
  if (s.previous?.jti === expected && now < s.previous.until) return { result: { replay: s.previous.pair } }
  return { result: 'reused' }
}

/**
 * The cafe's records. Every method is one transaction: a killed tab never leaves half a
 * record, and the read-check-write methods (register, rotateRefresh) cannot interleave
 * with a concurrent revoke, removal or rival refresh.
 */
export interface CafeStore {
  getToken(id: string): Promise<TokenRecord | undefined>
  putToken(token: TokenRecord): Promise<void>
  listTokens(): Promise<TokenRecord[]>
  getClient(address: string): Promise<ClientRecord | undefined>
  listClients(): Promise<ClientRecord[]>
  touchClient(address: string, lastSeen: string): Promise<void>
  /** Sets (or with undefined clears) a client's own quota; false if there is no such client. */
  setClientQuota(address: string, quota: number | undefined): Promise<boolean>
  getSession(sid: string): Promise<SessionRecord | undefined>
  deleteSession(sid: string): Promise<void>
  /** Binds the token to the client's address (bindToken, which throws TOKEN_REVOKED/TOKEN_USED) and writes client + session + token. */
  register(reg: Registration): Promise<void>
  /** Sets the session's refresh jti to `next.jti` only if it is still `expected` (see rotate). */
  rotateRefresh(sid: string, expected: string, next: NextRefresh, now: string): Promise<Rotation>
  /**
   * Removes the client and all its sessions; false if there was no such client. With
   * `revokeTokens` (the time, for an owner's removal) every token it registered with is
   * revoked in the same transaction, marked `removed`: it cannot come back with them.
   */
  removeClient(address: string, opts?: { revokeTokens?: string }): Promise<boolean>
  getSettings(): Promise<CafeSettings>
  putSettings(settings: CafeSettings): Promise<void>
}

/** 1 GiB per client by default: a spare tablet's storage shared among a few friends. */
export const DEFAULT_SETTINGS: CafeSettings = { enabled: false, name: 'Lightcafe', quotaBytes: 1024 ** 3 }

const copy = <T>(v: T | undefined): T | undefined => v == null ? undefined : structuredClone(v)

function withQuota (c: ClientRecord, quota: number | undefined): ClientRecord {
  const out = { ...c }
  delete out.quota
  return quota == null ? out : { ...out, quota }
}

function withoutQuota (c: ClientRecord): ClientRecord {
  const out = structuredClone(c)
  delete out.quota
  return out
}

function removedToken (t: TokenRecord, at: string): TokenRecord {
  return { ...t, revoked: t.revoked ?? at, removed: at }
}

/** In memory: for unit tests. */
export class MemoryCafeStore implements CafeStore {
  readonly #tokens = new Map<string, TokenRecord>()
  readonly #clients = new Map<string, ClientRecord>()
  readonly #sessions = new Map<string, SessionRecord>()
  readonly #quotas = new Map<string, number>()
  #settings: CafeSettings = { ...DEFAULT_SETTINGS }

  #withQuota (c: ClientRecord | undefined): ClientRecord | undefined { return c == null ? undefined : withQuota(copy(c)!, this.#quotas.get(c.address)) }

  async getToken (id: string): Promise<TokenRecord | undefined> { return copy(this.#tokens.get(id)) }
  async putToken (t: TokenRecord): Promise<void> { this.#tokens.set(t.id, copy(t)!) }
  async listTokens (): Promise<TokenRecord[]> { return [...this.#tokens.values()].map(t => copy(t)!) }
  async getClient (a: string): Promise<ClientRecord | undefined> { return this.#withQuota(this.#clients.get(a)) }
  async listClients (): Promise<ClientRecord[]> { return [...this.#clients.values()].map(c => this.#withQuota(c)!) }
  async touchClient (a: string, lastSeen: string): Promise<void> { const c = this.#clients.get(a); if (c != null) c.lastSeen = lastSeen }
  async setClientQuota (a: string, quota: number | undefined): Promise<boolean> {
    if (!this.#clients.has(a)) return false
    if (quota == null) this.#quotas.delete(a)
    else this.#quotas.set(a, quota)
    return true
  }

  async getSession (sid: string): Promise<SessionRecord | undefined> { return copy(this.#sessions.get(sid)) }
  async deleteSession (sid: string): Promise<void> { this.#sessions.delete(sid) }
  // No await between check and writes: atomic, as the IndexedDB transaction is.
  async register (reg: Registration): Promise<void> {
    const token = bindToken(this.#tokens.get(reg.tokenId), reg.client.address)
    this.#tokens.set(token.id, copy(token)!)
    this.#clients.set(reg.client.address, withoutQuota(reg.client))
    this.#sessions.set(reg.session.sid, copy(reg.session)!)
  }

  async rotateRefresh (sid: string, expected: string, next: NextRefresh, now: string): Promise<Rotation> {
    const { result, write } = rotate(this.#sessions.get(sid), expected, next, now)
    if (write != null) this.#sessions.set(sid, copy(write)!)
    return result
  }

  async removeClient (address: string, opts: { revokeTokens?: string } = {}): Promise<boolean> {
    for (const [sid, s] of this.#sessions) if (s.address === address) this.#sessions.delete(sid)
    if (opts.revokeTokens != null) {
      for (const t of this.#tokens.values()) if (t.usedBy === address) this.#tokens.set(t.id, removedToken(t, opts.revokeTokens))
    }
    return this.#clients.delete(address)
  }

  async getSettings (): Promise<CafeSettings> { return { ...this.#settings } }
  async putSettings (s: CafeSettings): Promise<void> { this.#settings = { ...s } }
}
