import { randomBytes, toBase64url } from '../shared/bytes.ts'
import { SESSION_LIMITS } from './limits.ts'

/**
 * Registration challenges. In memory on purpose: a challenge lives for one round trip,
 * and a cafe that reloads simply asks the client to fetch a new one.
 */
export class Nonces {
  // Insertion order = age, so the oldest is dropped first when full.
  readonly #pending = new Map<string, { address: string, exp: number }>()
  readonly #now: () => number

  constructor (now: () => number) { this.#now = now }

  issue (address: string): { nonce: string, exp: number } {
    if (this.#pending.size >= SESSION_LIMITS.maxPendingNonces) {
      const oldest = this.#pending.keys().next().value
      if (oldest != null) this.#pending.delete(oldest)
    }
    const nonce = toBase64url(randomBytes(16))
    const exp = this.#now() + SESSION_LIMITS.nonceTtlMs
    this.#pending.set(nonce, { address, exp })
    return { nonce, exp }
  }

  /** True once: for the address it was issued to, before it expires. Any use spends it. */
  consume (address: string, nonce: string): boolean {
    const entry = this.#pending.get(nonce)
    this.#pending.delete(nonce)
    return entry != null && entry.address === address && entry.exp > this.#now()
  }

  get size (): number { return this.#pending.size }
}
