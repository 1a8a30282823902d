import { BoundedMap } from '../shared/bounded-map.ts'
import { randomBytes, toBase64url } from '../shared/bytes.ts'
import { RateLimitedError, UnavailableError } from '../shared/errors.ts'
import { RateLimiter } from '../shared/rate-limit.ts'
import { SESSION_LIMITS } from './limits.ts'

export interface NonceLimits {
  /** Pending challenges kept in all. When full, new ones are refused: none is ever evicted for a stranger's. */
  maxPending: number
  /** Pending challenges of one caller (libp2p peer, or 'local'): its newest replaces its own oldest. */
  maxPendingPerCaller: number
  /** Challenges one caller may ask for in a burst, then per second. */
  rateBurst: number
  ratePerSecond: number
}

export const NONCE_LIMITS: NonceLimits = {
  maxPending: SESSION_LIMITS.maxPendingNonces,
  // A client registers with one challenge; a few allow retries and several accounts on one peer.
  maxPendingPerCaller: 4,
  rateBurst: 10,
  ratePerSecond: 1
}

interface Pending { address: string, slot: string, spender: string, exp: number }

/**
 * Who asks for a challenge. `slot`: whose pending challenges it counts among (a libp2p peer; an
 * HTTP connection): nobody else can have it, so replacing a caller's oldest never touches
 * another's. `spender`: who may spend it (the peer, or the carrier `http` whatever connection:
 * the nonce is a secret only the asker saw). `rate`: whose rate budget it draws on.
 */
export interface ChallengeCaller { slot: string, spender: string, rate: string }

const callerOf = (c: string | ChallengeCaller): ChallengeCaller => typeof c === 'string' ? { slot: c, spender: c, rate: c } : c

/**
 * Registration challenges. In memory on purpose: a challenge lives for one round trip,
 * and a cafe that reloads simply makes the client fetch a new one (NONCE_INVALID).
 * A challenge belongs to the address it names and to the caller that asked for it, so nobody
 * else can spend it, and a flood can only displace the flooder's own: callers' slots are
 * identities nobody else shares, and a full cafe refuses rather than evicts.
 */
export class Nonces {
  // Insertion order = age = expiry order (one TTL for all): the front is always the oldest.
  // Bounded by refusal (CHALLENGES_BUSY) before it is full, so set() never evicts.
  readonly #pending: BoundedMap<string, Pending>
  // Each caller's (slot's) pending nonces, oldest first.
  readonly #byCaller = new Map<string, string[]>()
  readonly #now: () => number
  readonly #limits: NonceLimits
  readonly #rate: RateLimiter

  constructor (now: () => number, limits: Partial<NonceLimits> = {}) {
    this.#now = now
    this.#limits = { ...NONCE_LIMITS, ...limits }
    this.#pending = new BoundedMap(this.#limits.maxPending)
    this.#rate = new RateLimiter({ capacity: this.#limits.rateBurst, refillPerSecond: this.#limits.ratePerSecond, now })
  }

  #delete (nonce: string): void {
    const entry = this.#pending.get(nonce)
    if (entry == null) return
    this.#pending.delete(nonce)
    this.#forget(entry.slot, nonce)
  }

  #forget (caller: string, nonce: string): void {
    const mine = this.#byCaller.get(caller)?.filter(n => n !== nonce) ?? []
    if (mine.length === 0) this.#byCaller.delete(caller)
    else this.#byCaller.set(caller, mine)
  }

  /**
   * A new challenge for `address`, asked by `caller`. Throws RateLimitedError (RATE_LIMITED) past
   * the caller's rate, UnavailableError (CHALLENGES_BUSY) while the cafe holds its most.
   */
  issue (address: string, who: string | ChallengeCaller = 'local'): { nonce: string, exp: number } {
    const now = this.#now()
    const { slot: caller, spender, rate } = callerOf(who)
    const { ok, retryAfterMs } = this.#rate.take(rate)
    if (!ok) throw new RateLimitedError('RATE_LIMITED', `too many challenges from this peer; retry in ${Math.ceil(retryAfterMs / 1000)} s`)
    // Expired ones leave from the front.
    for (const [nonce, e] of this.#pending.dropOldestWhile(e => e.exp <= now)) this.#forget(e.slot, nonce)
    const mine = this.#byCaller.get(caller) ?? []
    if (mine.length >= this.#limits.maxPendingPerCaller) this.#delete(mine[0])
    else if (this.#pending.full) {
      throw new UnavailableError('CHALLENGES_BUSY', 'this cafe holds its most pending registrations; retry in a minute')
    }
    const nonce = toBase64url(randomBytes(SESSION_LIMITS.nonceBytes))
    const exp = now + SESSION_LIMITS.nonceTtlMs
    this.#pending.set(nonce, { address, slot: caller, spender, exp })
    this.#byCaller.set(caller, [...(this.#byCaller.get(caller) ?? []), nonce])
    return { nonce, exp }
  }

  /**
   * True exactly once: for the address and caller it was issued to, before it expires. A use
   * by them spends it whatever happens next; a use naming another address, or from another
   * caller, does not, so nobody can burn someone else's challenge.
   */
  consume (address: string, nonce: string, spender = 'local'): boolean {
    const entry = this.#pending.get(nonce)
    if (entry == null || entry.address !== address || entry.spender !== spender) return false
    this.#delete(nonce)
    return entry.exp > this.#now()
  }

  get size (): number { return this.#pending.size }
}
