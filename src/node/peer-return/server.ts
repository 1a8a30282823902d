import { serviceCapabilities } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { BoundedMap } from '../../shared/bounded-map.ts'
import { sourceOf } from '../../shared/source-address.ts'
import { RETURN_LIMITS, RETURN_PROTOCOL, messages } from './protocol.ts'
import type { ReturnAnswer } from './protocol.ts'
import type { ComponentLogger, Connection, Libp2pEvents, Logger, PeerId, Startable, Stream, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'

/** The relay's side: answers watches when the watched peer connects and holds a reservation. */
export interface PeerReturnServer {
  /** Watches held now. */
  watching(): number
}

export interface PeerReturnServerInit {
  /** Whether a peer holds a reservation on this relay (the circuit relay server's `reservations`); default: any connected peer counts. */
  reserved?: (peer: PeerId) => boolean
  /** Limits (default RETURN_LIMITS); tests shorten the watch. */
  limits?: Partial<Record<keyof typeof RETURN_LIMITS, number>>
  /** Sources the per-source bound does not apply to (default: loopback, i.e. a TLS proxy in front). */
  exempt?: (source: string) => boolean
}

export interface PeerReturnServerComponents {
  registrar: Registrar
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

class PeerReturnServerService implements PeerReturnServer, Startable {
  readonly [Symbol.toStringTag] = '@lightcafe/peer-return-server'
  readonly [serviceCapabilities]: string[] = ['@lightcafe/peer-return-server']

  readonly #components: PeerReturnServerComponents
  readonly #log: Logger
  readonly #reserved: (peer: PeerId) => boolean
  readonly #limits: Record<keyof typeof RETURN_LIMITS, number>
  /** Peer id → when it last opened a connection here. */
  readonly #arrivals: BoundedMap<string, number>
  /** Peer id → the watches waiting for it. */
  readonly #watches = new Map<string, Set<(back: boolean) => void>>()
  /** Source address → watches held for it. */
  readonly #bySource = new Map<string, number>()
  readonly #exempt: (source: string) => boolean
  #count = 0

  constructor (components: PeerReturnServerComponents, init: PeerReturnServerInit) {
    this.#components = components
    this.#log = components.logger.forComponent('lightcafe:peer-return')
    this.#reserved = init.reserved ?? (() => true)
    this.#limits = { ...RETURN_LIMITS, ...init.limits }
    this.#arrivals = new BoundedMap(this.#limits.maxArrivals)
    this.#exempt = init.exempt ?? (source => /^127\./.test(source) || source === '::1')
  }

  async start (): Promise<void> {
    this.#components.events.addEventListener('connection:open', this.#onOpen)
    await this.#components.registrar.handle(RETURN_PROTOCOL, async (stream, connection) => { await this.#serve(stream, connection) }, {
      maxInboundStreams: this.#limits.maxPerConnection,
      runOnLimitedConnection: false
    })
  }

  async stop (): Promise<void> {
    this.#components.events.removeEventListener('connection:open', this.#onOpen)
    await this.#components.registrar.unhandle(RETURN_PROTOCOL)
    for (const set of this.#watches.values()) for (const answer of [...set]) answer(false)
  }

  watching (): number { return this.#count }

  /** Reachable through this relay now: connected here (a connection that is open) and holding a reservation. */
  #reachable (peer: PeerId): boolean {
    return this.#reserved(peer) && this.#components.connectionManager.getConnections(peer).some(c => c.status === 'open')
  }

  readonly #onOpen = (evt: CustomEvent<Connection>): void => {
    const connection = evt.detail
    if (connection.limits != null) return
    const peer = connection.remotePeer
    const id = peer.toString()
    this.#arrivals.set(id, Date.now())
    if (!this.#watches.has(id)) return
    // A peer back from a cut reserves right after it connects (a reservation from before may
    // still be held): its watchers hear of it once it is reachable, or not at all.
    const deadline = Date.now() + this.#limits.reserveWaitMs
    const check = (): void => {
      if (connection.status !== 'open') return
      if (this.#reachable(peer)) { for (const answer of [...this.#watches.get(id) ?? []]) answer(true); return }
      if (Date.now() < deadline) setTimeout(check, this.#limits.reservePollMs)
    }
    check()
  }

  async #serve (stream: Stream, connection: Connection): Promise<void> {
    const io = messages(stream)
    try {
      const req = await io.read({ signal: AbortSignal.timeout(this.#limits.requestTimeoutMs) }) as { peer?: unknown, sinceMs?: unknown }
      await io.write(await this.#watch(req, stream, sourceOf(connection.remoteAddr.toString())), { signal: AbortSignal.timeout(this.#limits.requestTimeoutMs) })
      await stream.close()
    } catch (err) {
      this.#log('watch from %p failed: %e', connection.remotePeer, err)
      stream.abort(err as Error)
    }
  }

  async #watch (req: { peer?: unknown, sinceMs?: unknown }, stream: Stream, source: string): Promise<ReturnAnswer> {
    let peer: PeerId
    try {
      if (typeof req.peer !== 'string' || req.peer.length > 128) throw new Error('not a peer id')
      peer = peerIdFromString(req.peer)
    } catch {
      return { error: 'INVALID_PEER' }
    }
    const id = peer.toString()
    const since = typeof req.sinceMs === 'number' && Number.isFinite(req.sinceMs) ? Math.min(Math.max(0, req.sinceMs), this.#limits.maxSinceMs) : 0
    // Back since the asker last failed to reach it: no need to wait.
    if ((this.#arrivals.get(id) ?? -Infinity) >= Date.now() - since && this.#reachable(peer)) return { back: true }
    if (this.#count >= this.#limits.maxWatches) return { error: 'WATCH_FULL' }
    const counted = !this.#exempt(source)
    if (counted && (this.#bySource.get(source) ?? 0) >= this.#limits.maxPerSource) return { error: 'WATCH_FULL' }
    return new Promise<ReturnAnswer>(resolve => {
      const set = this.#watches.get(id) ?? new Set()
      this.#watches.set(id, set)
      this.#count++
      if (counted) this.#bySource.set(source, (this.#bySource.get(source) ?? 0) + 1)
      const answer = (back: boolean): void => {
        if (!set.delete(answer)) return
        this.#count--
        if (counted) {
          const left = (this.#bySource.get(source) ?? 1) - 1
          if (left > 0) this.#bySource.set(source, left)
          else this.#bySource.delete(source)
        }
        if (set.size === 0) this.#watches.delete(id)
        clearTimeout(timer)
        stream.removeEventListener('close', gone)
        resolve({ back })
      }
      const gone = (): void => { answer(false) }
      const timer = setTimeout(gone, this.#limits.watchMs)
      // The asker went away (or its connection did): the watch ends with it.
      stream.addEventListener('close', gone)
      set.add(answer)
    })
  }
}

/** The watch a relay serves, for libp2p's `services`. */
export function peerReturnServer (init: PeerReturnServerInit = {}): (components: PeerReturnServerComponents) => PeerReturnServer {
  return (components) => new PeerReturnServerService(components, init)
}
