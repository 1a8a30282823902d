import { BoundedMap } from './bounded-map.ts'
import { RateLimitedError } from './errors.ts'

export interface RateLimitOptions {
  /** Most tokens a key can hold: the largest burst allowed. */
  capacity: number
  /** Tokens added per second, up to capacity: the sustained rate. */
  refillPerSecond: number
  /** Keys tracked at most; the least recently used is forgotten first. */
  maxKeys?: number
  /** Milliseconds clock; injectable so tests drive time. */
  now?: () => number
}

export interface RateDecision {
  ok: boolean
  /** Tokens left after this decision (fractional while refilling). */
  remaining: number
  /** 0 when ok; otherwise how long until `cost` tokens are there (Infinity if they never will be). */
  retryAfterMs: number
}

/** Keys tracked by default: one per sender or peer; small in memory. */
export const DEFAULT_MAX_KEYS = 10_000

interface Bucket { tokens: number, at: number }

/**
 * Token buckets per key (sender address, peer id, …). Buckets live in a BoundedMap in order
 * of last use, so the least recently used goes first when `maxKeys` is reached. Forgetting a key
 * gives it a full bucket next time: with many keys in play an attacker can buy back a burst,
 * so `maxKeys` should sit well above the keys that are legitimately busy at once.
 */
export class RateLimiter {
  readonly #buckets: BoundedMap<string, Bucket>
  readonly #capacity: number
  readonly #perMs: number
  readonly #now: () => number

  constructor (options: RateLimitOptions) {
    const { capacity, refillPerSecond, maxKeys = DEFAULT_MAX_KEYS, now = Date.now } = options
    if (!(Number.isFinite(capacity) && capacity > 0)) throw new RangeError('capacity must be a positive number')
    if (!(Number.isFinite(refillPerSecond) && refillPerSecond >= 0)) throw new RangeError('refillPerSecond must be a number ≥ 0')
    this.#buckets = new BoundedMap(maxKeys) // a RangeError unless a positive integer
    this.#capacity = capacity
    this.#perMs = refillPerSecond / 1000
    this.#now = now
  }

  /** Takes `cost` tokens from `key`'s bucket if it holds them; takes nothing otherwise. */
  take (key: string, cost = 1): RateDecision {
    if (!(Number.isFinite(cost) && cost > 0 && cost <= this.#capacity)) throw new RangeError(`cost must be > 0 and ≤ capacity (${this.#capacity})`)
    const now = this.#now()
    // touch(): the most recently used goes last; a new key pushes out the least recently used.
    let bucket = this.#buckets.touch(key)
    if (bucket == null) {
      bucket = { tokens: this.#capacity, at: now }
      this.#buckets.set(key, bucket)
    } else {
      // A clock that steps back grants nothing, and the time is not counted twice when it returns.
      if (now > bucket.at) {
        bucket.tokens = Math.min(this.#capacity, bucket.tokens + (now - bucket.at) * this.#perMs)
        bucket.at = now
      }
    }
    // The tolerance absorbs float rounding, so waiting exactly retryAfterMs is always enough.
    if (bucket.tokens + 1e-9 >= cost) {
      bucket.tokens = Math.max(0, bucket.tokens - cost)
      return { ok: true, remaining: bucket.tokens, retryAfterMs: 0 }
    }
    const retryAfterMs = this.#perMs === 0 ? Infinity : Math.ceil((cost - bucket.tokens) / this.#perMs)
    return { ok: false, remaining: bucket.tokens, retryAfterMs }
  }

  /** take() that throws RateLimitedError (429 RATE_LIMITED) when refused, for request handlers. */
  consume (key: string, cost = 1): void {
    const { ok, retryAfterMs } = this.take(key, cost)
    if (!ok) {
      const wait = Number.isFinite(retryAfterMs) ? `; retry in ${Math.ceil(retryAfterMs / 1000)} s` : ''
      throw new RateLimitedError('RATE_LIMITED', `too many requests${wait}`)
    }
  }

  /** Keys currently tracked. */
  get size (): number { return this.#buckets.size }
}
