import { backoff } from '../shared/backoff.ts'
import { relayCause } from './relay-cause.ts'
import type { RelayCause } from './relay-cause.ts'
import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** How long one dial of a relay may take before it counts as unanswered. */
export const RELAY_DIAL_TIMEOUT_MS = 10_000

/** Backoff between redials of a lost relay: quick at first, capped so a cafe left for days keeps trying. */
export const RELAY_BACKOFF = { firstMs: 500, maxMs: 15_000, factor: 2 } as const

export interface RelayState {
  multiaddr: string
  connected: boolean
  /** Our circuit addresses through this relay are advertised. */
  reserved: boolean
  attempts: number
  lastError?: string
  /** The likely cause of the last failure (see relay-cause.ts), for a message that names it. */
  cause?: RelayCause
}

/**
 * Keeps a connection to every configured relay: dials at start, and redials with
 * backoff whenever a relay goes away (restart, network drop). libp2p's relay transport
 * then makes a fresh reservation on the new connection.
 */
export class RelayKeeper extends EventTarget {
  readonly #libp2p: Libp2p
  readonly #relays: Multiaddr[]
  readonly #attempts = new Map<string, number>()
  readonly #errors = new Map<string, { message: string, cause: RelayCause }>()
  readonly #everConnected = new Set<string>()
  readonly #page: { protocol: string, hostname: string }
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>()
  #running = false

  /** `page`: where this node runs (default: this page's location), for the causes of failures. */
  constructor (libp2p: Libp2p, relays: Multiaddr[], page: { protocol: string, hostname: string } = globalThis.location ?? { protocol: 'http:', hostname: 'localhost' }) {
    super()
    this.#libp2p = libp2p
    this.#relays = relays
    this.#page = { protocol: page.protocol, hostname: page.hostname }
  }

  start (): void {
    this.#running = true
    this.#libp2p.addEventListener('peer:disconnect', this.#onDisconnect)
    this.#libp2p.addEventListener('self:peer:update', this.#onUpdate)
    // A reservation is made when the relay transport starts listening on it; libp2p's
    // self:peer:update comes ~1 s later (its address manager debounces), so this is the moment.
    this.#libp2p.addEventListener('transport:listening', this.#onUpdate)
    for (const ma of this.#relays) this.#dial(ma)
  }

  stop (): void {
    this.#running = false
    this.#libp2p.removeEventListener('peer:disconnect', this.#onDisconnect)
    this.#libp2p.removeEventListener('self:peer:update', this.#onUpdate)
    this.#libp2p.removeEventListener('transport:listening', this.#onUpdate)
    for (const t of this.#timers.values()) clearTimeout(t)
    this.#timers.clear()
  }

  state (): RelayState[] {
    const own = this.#libp2p.getMultiaddrs().map(ma => ma.toString())
    return this.#relays.map(ma => {
      const id = ma.getComponents().findLast(c => c.name === 'p2p')?.value
      const key = ma.toString()
      return {
        multiaddr: key,
        connected: id != null && this.#libp2p.getConnections().some(c => c.remotePeer.toString() === id && c.status === 'open'),
        reserved: own.some(a => a.startsWith(`${key}/p2p-circuit`)),
        attempts: this.#attempts.get(key) ?? 0,
        ...(this.#errors.has(key) ? { lastError: this.#errors.get(key)!.message, cause: this.#errors.get(key)!.cause } : {})
      }
    })
  }

  readonly #onUpdate = (): void => { this.dispatchEvent(new Event('change')) }

  readonly #onDisconnect = (evt: CustomEvent): void => {
    const peer = String(evt.detail)
    for (const ma of this.#relays) {
      if (ma.toString().endsWith(`/p2p/${peer}`)) this.#schedule(ma)
    }
    this.dispatchEvent(new Event('change'))
  }

  #schedule (ma: Multiaddr): void {
    const key = ma.toString()
    if (!this.#running || this.#timers.has(key)) return
    const n = this.#attempts.get(key) ?? 0
    const delay = backoff(n, RELAY_BACKOFF)
    this.#timers.set(key, setTimeout(() => {
      this.#timers.delete(key)
      this.#dial(ma)
    }, delay))
  }

  #dial (ma: Multiaddr): void {
    const key = ma.toString()
    const signal = AbortSignal.timeout(RELAY_DIAL_TIMEOUT_MS)
    this.#libp2p.dial(ma, { signal }).then(() => {
      this.#attempts.set(key, 0)
      this.#errors.delete(key)
      this.#everConnected.add(key)
      this.dispatchEvent(new Event('change'))
    }, (err: Error) => {
      this.#attempts.set(key, (this.#attempts.get(key) ?? 0) + 1)
      const cause = relayCause(ma, { timedOut: signal.aborted, everConnected: this.#everConnected.has(key) }, this.#page)
      this.#errors.set(key, { message: err.message, cause })
      this.dispatchEvent(new Event('change'))
      this.#schedule(ma)
    })
  }
}
