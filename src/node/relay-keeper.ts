import { TypedEventEmitter } from 'main-event'
import { backoff } from '../shared/backoff.ts'
import { Wake } from '../shared/wake.ts'
import { relayCause } from './relay-cause.ts'
import type { RelayCause } from './relay-cause.ts'
import type { WakeReason } from '../shared/wake.ts'
import type { Connection, Libp2p } from '@libp2p/interface'
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
  /** What started the last dial: the start, its backoff running out, or a wake (the network came back). */
  lastDial?: 'start' | 'backoff' | WakeReason
  /** When the next redial is due by backoff alone (ms since the epoch), while one waits. */
  nextDialAt?: number
}

export interface RelayKeeperInit {
  /** Where this node runs (default: this page's location), for the causes of failures. */
  page?: { protocol: string, hostname: string }
  /** Cuts a redial's backoff short when it fires; the keeper fires it when a relay is back, and when a dial elsewhere succeeds while a relay waits. */
  wake?: Wake
}

/** What a RelayKeeper tells: a relay's state changed (connected, lost, error, addresses). */
export interface RelayKeeperEvents { change: CustomEvent<void> }

/**
 * Keeps a connection to every configured relay: dials at start, and redials with
 * backoff whenever a relay goes away (restart, network drop). libp2p's relay transport
 * then makes a fresh reservation on the new connection. The backoff is for a relay that is
 * really down: a wake (the browser back online, addresses changed, a connection opened while
 * no relay was up) redials at once, and a relay back after a loss wakes every other backoff.
 */
export class RelayKeeper extends TypedEventEmitter<RelayKeeperEvents> {
  readonly #libp2p: Libp2p
  readonly #relays: Multiaddr[]
  readonly #attempts = new Map<string, number>()
  readonly #errors = new Map<string, { message: string, cause: RelayCause }>()
  readonly #everConnected = new Set<string>()
  readonly #page: { protocol: string, hostname: string }
  /** Relay → the cancel of its pending redial, and when the backoff alone would run it. */
  readonly #pending = new Map<string, { cancel: () => void, at: number }>()
  readonly #lastDial = new Map<string, NonNullable<RelayState['lastDial']>>()
  /** Relays lost (or failed) since they last connected: their return is news for every other backoff. */
  readonly #lost = new Set<string>()
  readonly wake: Wake
  #running = false

  constructor (libp2p: Libp2p, relays: Multiaddr[], init: RelayKeeperInit = {}) {
    super()
    this.#libp2p = libp2p
    this.#relays = relays
    const page = init.page ?? globalThis.location ?? { protocol: 'http:', hostname: 'localhost' }
    this.#page = { protocol: page.protocol, hostname: page.hostname }
    this.wake = init.wake ?? new Wake()
  }

  start (): void {
    this.#running = true
    this.#libp2p.addEventListener('peer:disconnect', this.#onDisconnect)
    this.#libp2p.addEventListener('connection:open', this.#onOpen)
    this.#libp2p.addEventListener('self:peer:update', this.#onUpdate)
    // A reservation is made when the relay transport starts listening on it; libp2p's
    // self:peer:update comes ~1 s later (its address manager debounces), so this is the moment.
    this.#libp2p.addEventListener('transport:listening', this.#onUpdate)
    for (const ma of this.#relays) this.#dial(ma, 'start')
  }

  stop (): void {
    this.#running = false
    this.#libp2p.removeEventListener('peer:disconnect', this.#onDisconnect)
    this.#libp2p.removeEventListener('connection:open', this.#onOpen)
    this.#libp2p.removeEventListener('self:peer:update', this.#onUpdate)
    this.#libp2p.removeEventListener('transport:listening', this.#onUpdate)
    for (const p of this.#pending.values()) p.cancel()
    this.#pending.clear()
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
        ...(this.#errors.has(key) ? { lastError: this.#errors.get(key)!.message, cause: this.#errors.get(key)!.cause } : {}),
        ...(this.#lastDial.has(key) ? { lastDial: this.#lastDial.get(key) } : {}),
        ...(this.#pending.has(key) ? { nextDialAt: this.#pending.get(key)!.at } : {})
      }
    })
  }

  /**
   * The relays to reach other peers through: those connected now (a circuit through any other
   * waits out a dial timeout before the one that can answer is asked), or all when none is.
   */
  dialable (): Multiaddr[] {
    const connected = new Set(this.#libp2p.getConnections().filter(c => c.status === 'open' && c.limits == null).map(c => c.remotePeer.toString()))
    const up = this.#relays.filter(ma => { const id = ma.getComponents().findLast(c => c.name === 'p2p')?.value; return id != null && connected.has(id) })
    return up.length > 0 ? up : this.#relays
  }

  readonly #onUpdate = (): void => { this.safeDispatchEvent('change') }

  readonly #onDisconnect = (evt: CustomEvent): void => {
    const peer = String(evt.detail)
    for (const ma of this.#relays) {
      if (ma.toString().endsWith(`/p2p/${peer}`)) { this.#lost.add(ma.toString()); this.#schedule(ma) }
    }
    this.safeDispatchEvent('change')
  }

  /**
   * A connection opened to some other peer while no relay is connected: the network works
   * again, so try the relays now. Not while another relay is up: the network is, and a relay
   * still missing then is down itself (it keeps its backoff).
   */
  readonly #onOpen = (evt: CustomEvent<Connection>): void => {
    if (this.#pending.size === 0) return
    const peer = evt.detail.remotePeer.toString()
    if (this.#relays.some(ma => ma.toString().endsWith(`/p2p/${peer}`))) return
    if (this.state().some(r => r.connected)) return
    this.wake.notify('dial')
  }

  #schedule (ma: Multiaddr): void {
    const key = ma.toString()
    if (!this.#running || this.#pending.has(key)) return
    const n = this.#attempts.get(key) ?? 0
    const delay = backoff(n, RELAY_BACKOFF)
    const cancel = this.wake.after(delay, woken => {
      this.#pending.delete(key)
      this.#dial(ma, woken?.reason ?? 'backoff')
    })
    this.#pending.set(key, { cancel, at: Date.now() + delay })
  }

  #dial (ma: Multiaddr, why: NonNullable<RelayState['lastDial']>): void {
    const key = ma.toString()
    this.#lastDial.set(key, why)
    const signal = AbortSignal.timeout(RELAY_DIAL_TIMEOUT_MS)
    this.#libp2p.dial(ma, { signal }).then(() => {
      this.#attempts.set(key, 0)
      this.#errors.delete(key)
      this.#everConnected.add(key)
      this.safeDispatchEvent('change')
      // Back after a loss: what else waited (outboxes, refreshes) may go now.
      if (this.#lost.delete(key)) this.wake.notify('relay')
    }, (err: Error) => {
      this.#lost.add(key)
      this.#attempts.set(key, (this.#attempts.get(key) ?? 0) + 1)
      const cause = relayCause(ma, { timedOut: signal.aborted, everConnected: this.#everConnected.has(key) }, this.#page)
      this.#errors.set(key, { message: err.message, cause })
      this.safeDispatchEvent('change')
      this.#schedule(ma)
    })
  }
}
