import { serviceCapabilities } from '@libp2p/interface'
import { RETURN_LIMITS, RETURN_PROTOCOL, messages } from './protocol.ts'
import type { Wake } from '../../shared/wake.ts'
import type { ComponentLogger, Connection, Libp2pEvents, Logger, Startable, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'

/**
 * A peer's side: every peer `wake` waits for (one we failed to reach) is watched on every
 * connected relay; when a relay answers that it is back, `wake.seen` wakes every backoff.
 * Watches follow the relays: a relay (re)connected gets the watches of all peers waited for.
 */
export interface PeerReturn {
  /** `relay → peers` watched now (diagnostics and tests). */
  watching(): Record<string, string[]>
}

export interface PeerReturnInit {
  wake: Wake
  /** Our relays' peer ids: only they are asked. */
  relays: () => ReadonlySet<string>
}

export interface PeerReturnComponents {
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

class PeerReturnService implements PeerReturn, Startable {
  readonly [Symbol.toStringTag] = '@lightcafe/peer-return'
  readonly [serviceCapabilities]: string[] = ['@lightcafe/peer-return']

  readonly #components: PeerReturnComponents
  readonly #log: Logger
  readonly #init: PeerReturnInit
  /** `relay|peer` → the watch's abort. */
  readonly #watches = new Map<string, AbortController>()
  #stops: Array<() => void> = []

  constructor (components: PeerReturnComponents, init: PeerReturnInit) {
    this.#components = components
    this.#log = components.logger.forComponent('lightcafe:peer-return')
    this.#init = init
  }

  start (): void {
    const { wake } = this.#init
    const onOpen = (evt: CustomEvent<Connection>): void => {
      const relay = evt.detail
      if (relay.limits != null || !this.#init.relays().has(relay.remotePeer.toString())) return
      for (const peer of wake.awaited()) this.#watch(relay, peer)
    }
    this.#components.events.addEventListener('connection:open', onOpen)
    this.#stops = [
      () => { this.#components.events.removeEventListener('connection:open', onOpen) },
      wake.onAwait(peer => { for (const relay of this.#relayConnections()) this.#watch(relay, peer) }),
      // Back (seen here or elsewhere): its other watches are done.
      wake.on(e => { if (e.peer != null) for (const [key, ac] of this.#watches) if (key.endsWith(`|${e.peer}`)) ac.abort() })
    ]
  }

  stop (): void {
    for (const stop of this.#stops) stop()
    this.#stops = []
    for (const ac of this.#watches.values()) ac.abort()
    this.#watches.clear()
  }

  watching (): Record<string, string[]> {
    const out: Record<string, string[]> = {}
    for (const key of this.#watches.keys()) { const [relay, peer] = key.split('|'); (out[relay] ??= []).push(peer) }
    return out
  }

  #relayConnections (): Connection[] {
    const relays = this.#init.relays()
    const newest = new Map<string, Connection>()
    for (const c of this.#components.connectionManager.getConnections()) {
      const id = c.remotePeer.toString()
      if (c.status !== 'open' || c.limits != null || !relays.has(id)) continue
      if ((newest.get(id)?.timeline.open ?? -Infinity) < c.timeline.open) newest.set(id, c)
    }
    return [...newest.values()]
  }

  #watch (relay: Connection, peer: string): void {
    const key = `${relay.remotePeer.toString()}|${peer}`
    if (this.#watches.has(key)) return
    // A relay holds a bounded number of watches per connection: the peers waited for longest keep theirs.
    const onRelay = [...this.#watches.keys()].filter(k => k.startsWith(`${relay.remotePeer.toString()}|`)).length
    if (onRelay >= RETURN_LIMITS.maxPerConnection) return
    const ac = new AbortController()
    this.#watches.set(key, ac)
    void this.#ask(relay, peer, ac.signal).then(back => {
      if (this.#watches.get(key) === ac) this.#watches.delete(key)
      if (back) { this.#init.wake.seen(peer); return }
      // The watch ran out while the peer is still waited for: ask again (not after an error or an abort).
      if (back === false && !ac.signal.aborted && relay.status === 'open' && this.#init.wake.awaitedFor(peer) != null) this.#watch(relay, peer)
    })
  }

  /** One watch: true when the relay says the peer is back, false when it ran out, undefined on an error. */
  async #ask (relay: Connection, peer: string, signal: AbortSignal): Promise<boolean | undefined> {
    try {
      const stream = await relay.newStream(RETURN_PROTOCOL, { signal: AbortSignal.any([signal, AbortSignal.timeout(RETURN_LIMITS.requestTimeoutMs)]) })
      signal.addEventListener('abort', () => { stream.abort(new Error('no longer waited for')) }, { once: true })
      const io = messages(stream)
      // Since the failed attempt began: a return during it is answered at once.
      const sinceMs = Math.min(RETURN_LIMITS.maxSinceMs, this.#init.wake.awaitedFor(peer) ?? 0)
      await io.write({ peer, sinceMs }, { signal })
      const answer = await io.read({ signal: AbortSignal.any([signal, AbortSignal.timeout(RETURN_LIMITS.watchMs + RETURN_LIMITS.requestTimeoutMs)]) }) as { back?: unknown, error?: unknown }
      await stream.close().catch(() => {})
      if (typeof answer.back === 'boolean') return answer.back
      this.#log('relay %p refused the watch of %s: %s', relay.remotePeer, peer, answer.error)
    } catch (err) {
      if (!signal.aborted) this.#log('watch of %s on %p failed: %e', peer, relay.remotePeer, err)
    }
    return undefined
  }
}

/** The watch client, for libp2p's `services`. */
export function peerReturn (init: PeerReturnInit): (components: PeerReturnComponents) => PeerReturn {
  return (components) => new PeerReturnService(components, init)
}
