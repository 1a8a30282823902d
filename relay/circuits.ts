import { AsyncLocalStorage } from 'node:async_hooks'
import { RELAY_V2_HOP_CODEC, RELAY_V2_STOP_CODEC } from '@libp2p/circuit-relay-v2'
import { serviceCapabilities } from '@libp2p/interface'
import { sourceOf } from '../src/shared/source-address.ts'
import type { ComponentLogger, Connection, Logger, PeerId, Startable, Stream, StreamMessageEvent } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'

/**
 * The relay's bounds on relayed circuits in all, beside libp2p's per-connection ones (bytes and
 * time per circuit, streams per connection): circuits at once, circuits from one source address
 * (IPv4 address, IPv6 /64), and one byte rate shared by every circuit. A circuit is the hop
 * stream of the peer that asked for it spliced to a stop stream to the peer it reaches.
 *
 * libp2p gives no hook around a circuit's life, so the relay's hop handler is wrapped: the
 * connection gater (`denyOutboundRelayedConnection`, asked before each circuit) learns which hop
 * stream asks through AsyncLocalStorage, and when the handler returns the two streams are
 * metered until they close. Over the byte budget every circuit's streams are paused (yamux then
 * stops granting its window, so the senders wait) until the budget has refilled.
 */
export interface CircuitLimits {
  /** Circuits open at once, in all. */
  maxCircuits: number
  /** Circuits open at once whose asking peer comes from one source address. */
  maxPerSource: number
  /** Bytes per second all circuits carry together (both ways counted); 0: no budget. */
  bytesPerSecond: number
}

export interface RelayedCircuits {
  /** Circuits open now. */
  open(): number
  /** The gater's question: whether `source` may not reach `destination` through this relay now. */
  deny(source: PeerId, destination: PeerId): boolean
}

export interface RelayedCircuitsComponents {
  registrar: Registrar
  connectionManager: ConnectionManager
  logger: ComponentLogger
}

export interface RelayedCircuitsInit extends CircuitLimits {
  /** Sources the per-source bound does not apply to (default: loopback, i.e. a TLS proxy in front). */
  exempt?: (source: string) => boolean
}

interface Circuit { source: string, hop: Stream, stop?: Stream }
interface Asking { stream: Stream, connection: Connection, circuit?: Circuit, destination?: PeerId, at?: number }

const isLoopback = (source: string): boolean => /^127\./.test(source) || source === '::1'

/** A token bucket of bytes, one second deep. */
class ByteBudget {
  readonly #rate: number
  #tokens: number
  #at = Date.now()
  constructor (bytesPerSecond: number) { this.#rate = bytesPerSecond; this.#tokens = bytesPerSecond }

  /** Takes `n` bytes (0: only refills); resolves how long (ms) until the budget is back above zero (0: it is). */
  take (n = 0): number {
    const now = Date.now()
    this.#tokens = Math.min(this.#rate, this.#tokens + (now - this.#at) * this.#rate / 1000)
    this.#at = now
    this.#tokens -= n
    return this.#tokens >= 0 ? 0 : Math.ceil(-this.#tokens * 1000 / this.#rate)
  }
}

class RelayedCircuitsService implements RelayedCircuits, Startable {
  readonly [Symbol.toStringTag] = '@lightcafe/relayed-circuits'
  readonly [serviceCapabilities]: string[] = ['@lightcafe/relayed-circuits']

  readonly #components: RelayedCircuitsComponents
  readonly #log: Logger
  readonly #limits: CircuitLimits
  readonly #exempt: (source: string) => boolean
  readonly #asking = new AsyncLocalStorage<Asking>()
  readonly #circuits = new Set<Circuit>()
  readonly #metered = new Set<Stream>()
  readonly #perSource = new Map<string, number>()
  readonly #budget?: ByteBudget
  #paused?: ReturnType<typeof setTimeout>

  constructor (components: RelayedCircuitsComponents, init: RelayedCircuitsInit) {
    this.#components = components
    this.#log = components.logger.forComponent('lightcafe:relayed-circuits')
    this.#limits = init
    this.#exempt = init.exempt ?? isLoopback
    this.#budget = init.bytesPerSecond > 0 ? new ByteBudget(init.bytesPerSecond) : undefined
  }

  start (): void {}

  /** After the relay server registered its hop handler: wrapped, with the same options. */
  async afterStart (): Promise<void> {
    const { handler, options } = this.#components.registrar.getHandler(RELAY_V2_HOP_CODEC)
    await this.#components.registrar.handle(RELAY_V2_HOP_CODEC, async (stream, connection) => {
      const asking: Asking = { stream, connection }
      try {
        await this.#asking.run(asking, async () => { await handler(stream, connection) })
      } finally {
        if (asking.circuit != null) this.#settle(asking)
      }
    }, { ...options, force: true })
  }

  stop (): void {
    clearTimeout(this.#paused)
  }

  open (): number { return this.#circuits.size }

  deny (source: PeerId, destination: PeerId): boolean {
    const asking = this.#asking.getStore()
    // Asked outside a hop request (no such caller in libp2p today): nothing to count it by.
    if (asking == null) return true
    const from = sourceOf(asking.connection.remoteAddr.toString())
    if (this.#circuits.size >= this.#limits.maxCircuits) {
      this.#log('refused a circuit %p → %p: %d open, the most at once', source, destination, this.#circuits.size)
      return true
    }
    if (!this.#exempt(from) && (this.#perSource.get(from) ?? 0) >= this.#limits.maxPerSource) {
      this.#log('refused a circuit %p → %p: %d open from %s', source, destination, this.#limits.maxPerSource, from)
      return true
    }
    // Counted from now: circuits asked for at the same moment see this one.
    asking.circuit = { source: from, hop: asking.stream }
    asking.destination = destination
    asking.at = Date.now()
    this.#circuits.add(asking.circuit)
    this.#perSource.set(from, (this.#perSource.get(from) ?? 0) + 1)
    return false
  }

  /** The hop handler has answered: a circuit whose stop stream opened is metered until it closes; any other is forgotten. */
  #settle ({ circuit, destination, at }: Asking): void {
    if (circuit == null || destination == null || at == null) return
    const stop = this.#components.connectionManager.getConnections(destination)
      .flatMap(c => c.streams)
      .filter(s => s.protocol === RELAY_V2_STOP_CODEC && s.direction === 'outbound' && s.status === 'open' && !this.#metered.has(s) && s.timeline.open >= at)
      .sort((a, b) => a.timeline.open - b.timeline.open)[0]
    if (stop == null || circuit.hop.status !== 'open') { this.#forget(circuit); return }
    circuit.stop = stop
    const end = (): void => { this.#forget(circuit) }
    for (const s of [circuit.hop, stop]) {
      this.#metered.add(s)
      s.addEventListener('close', end, { once: true })
      if (this.#budget != null) s.addEventListener('message', this.#meter)
    }
  }

  #forget (circuit: Circuit): void {
    if (!this.#circuits.delete(circuit)) return
    const n = (this.#perSource.get(circuit.source) ?? 1) - 1
    if (n > 0) this.#perSource.set(circuit.source, n)
    else this.#perSource.delete(circuit.source)
    for (const s of [circuit.hop, circuit.stop]) {
      if (s == null) continue
      this.#metered.delete(s)
      s.removeEventListener('message', this.#meter)
    }
  }

  readonly #meter = (evt: StreamMessageEvent): void => {
    const wait = this.#budget?.take(evt.data.byteLength) ?? 0
    if (wait === 0 || this.#paused != null) return
    // Paused after this event, not in it: a stream dispatching what it buffered inside resume()
    // would be marked paused and then told to grant its window again by the same resume().
    this.#paused = setTimeout(() => { this.#refill() }, wait)
    queueMicrotask(() => { for (const s of this.#metered) pause(s) })
  }

  /** Resumes every circuit once the budget is back above zero (bytes counted while pausing may have taken it further down). */
  #refill (): void {
    const wait = this.#budget?.take() ?? 0
    if (wait > 0) { this.#paused = setTimeout(() => { this.#refill() }, wait); return }
    this.#paused = undefined
    for (const s of this.#metered) resume(s)
  }
}

function pause (s: Stream): void { try { s.pause() } catch { /* closing: nothing more to read */ } }
function resume (s: Stream): void { try { s.resume() } catch { /* closed meanwhile */ } }

/** The relay's circuit bounds as a libp2p service; its `deny` goes in the relay's connection gater. */
export function relayedCircuits (init: RelayedCircuitsInit): (components: RelayedCircuitsComponents) => RelayedCircuits {
  return (components) => new RelayedCircuitsService(components, init)
}
