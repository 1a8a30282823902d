import { randomBytes, toBase64url } from '../shared/bytes.ts'
import { SESSION_LIMITS } from './limits.ts'

/**
 * Registration challenges. In memory on purpose: a challenge lives for one round trip,
 * and a cafe that reloads simply makes the client fetch a new one (NONCE_INVALID).
 */
export class Nonces {
  // Insertion order = age = expiry order (one TTL for all): the front is always the oldest.
  readonly #pending = new Map<string, { address: string, exp: number }>()
  readonly #now: () => number
  readonly #max: number

  constructor (now: () => number, max: number = SESSION_LIMITS.maxPendingNonces) {
    this.#now = now
    this.#max = max
  }

  issue (address: string): { nonce: string, exp: number } {
    const now = this.#now()
    // Drop expired ones from the front, then the oldest while full: memory stays bounded.
    for (const [nonce, e] of this.#pending) {
      if (e.exp > now && this.#pending.size < this.#max) break
      this.#pending.delete(nonce)
    }
    const nonce = toBase64url(randomBytes(SESSION_LIMITS.nonceBytes))
    const exp = now + SESSION_LIMITS.nonceTtlMs
    this.#pending.set(nonce, { address, exp })
    return { nonce, exp }
  }

  /**
   * True exactly once: for the address it was issued to, before it expires. A use by that
   * address spends it whatever happens next; a use naming another address does not, so it
   * cannot burn someone else's challenge.
   */
  consume (address: string, nonce: string): boolean {
    const entry = this.#pending.get(nonce)
    if (entry == null || entry.address !== address) return false
    this.#pending.delete(nonce)
    return entry.exp > this.#now()
  }

  get size (): number { return this.#pending.size }
}
