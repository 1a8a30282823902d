import { ICE_LIMITS } from './protocol.ts'
import type { IceServerEntry } from './protocol.ts'

/** Where ICE servers come from: `/relays.json`, or one relay (asked over its connection). */
export interface IceSource {
  /** Stable name (the relay's peer id, or `relays.json`). */
  key: string
  /** Whether it can be asked now (a relay: connected). */
  available: () => boolean
  fetch: (signal: AbortSignal) => Promise<IceServerEntry[]>
}

export interface IceServersInit {
  sources: () => IceSource[]
  now?: () => number
  /** How long a dial waits for servers being fetched when none are held (default 3 s). */
  waitMs?: number
  /** After a failed fetch, a source is not asked again for this long (default 30 s). */
  retryMs?: number
}

interface Held { servers: IceServerEntry[], fetchedAt: number }

/**
 * The ICE servers a WebRTC connection starts with. TURN credentials expire, so each source is
 * asked again shortly before its earliest expiry (or every `refreshBeforeMs` × 6 when nothing
 * expires); an expired server is never handed out. A connection already up keeps what it
 * started with (its TURN allocation lives as long as its credential).
 */
export class IceServers {
  readonly #init: Required<Omit<IceServersInit, 'sources'>> & Pick<IceServersInit, 'sources'>
  readonly #held = new Map<string, Held>()
  readonly #inFlight = new Map<string, Promise<void>>()
  readonly #failedAt = new Map<string, number>()

  constructor (init: IceServersInit) {
    this.#init = { now: Date.now, waitMs: 3_000, retryMs: 30_000, ...init }
  }

  /** The servers usable now, each source's in turn (relays.json's first). */
  current (): IceServerEntry[] {
    const now = this.#init.now()
    return [...this.#held.values()].flatMap(h => h.servers.filter(s => s.expiresAt == null || s.expiresAt > now))
  }

  #due (source: IceSource): boolean {
    const now = this.#init.now()
    if (this.#inFlight.has(source.key) || !source.available()) return false
    const failed = this.#failedAt.get(source.key)
    if (failed != null && now - failed < this.#init.retryMs) return false
    const held = this.#held.get(source.key)
    if (held == null) return true
    const expiries = held.servers.map(s => s.expiresAt).filter((t): t is number => t != null)
    const renewAt = expiries.length > 0 ? Math.min(...expiries) - ICE_LIMITS.refreshBeforeMs : held.fetchedAt + 6 * ICE_LIMITS.refreshBeforeMs
    return now >= renewAt
  }

  /** Asks every source that is due; resolves when those asked have answered (or failed). */
  async refresh (): Promise<void> {
    const asked: Array<Promise<void>> = []
    for (const source of this.#init.sources()) {
      if (!this.#due(source)) { const p = this.#inFlight.get(source.key); if (p != null) asked.push(p); continue }
      const signal = AbortSignal.timeout(ICE_LIMITS.timeoutMs)
      // Bounded even when a source ignores its signal.
      const answered = Promise.race([source.fetch(signal), new Promise<never>((_resolve, reject) => { signal.addEventListener('abort', () => { reject(signal.reason) }, { once: true }) })])
      const p = answered.then(servers => {
        this.#held.set(source.key, { servers, fetchedAt: this.#init.now() })
        this.#failedAt.delete(source.key)
      }, () => { this.#failedAt.set(source.key, this.#init.now()) }).finally(() => { this.#inFlight.delete(source.key) })
      this.#inFlight.set(source.key, p)
      asked.push(p)
    }
    await Promise.all(asked)
  }

  /** For a new connection: refreshes what is due, waiting (bounded) only while nothing usable is held. */
  async forConnection (): Promise<RTCIceServer[]> {
    const refreshing = this.refresh()
    if (this.current().length === 0) {
      let timer: ReturnType<typeof setTimeout> | undefined
      await Promise.race([refreshing, new Promise<void>(resolve => { timer = setTimeout(resolve, this.#init.waitMs) })])
      clearTimeout(timer)
    }
    return this.current().map(({ urls, username, credential }) => ({ urls, ...(username != null ? { username } : {}), ...(credential != null ? { credential } : {}) }))
  }
}
