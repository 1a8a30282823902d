import { serviceCapabilities } from '@libp2p/interface'
import { RateLimiter } from '../../shared/rate-limit.ts'
import { sourceOf } from '../../shared/source-address.ts'
import { ICE_LIMITS, ICE_PROTOCOL, messages } from './protocol.ts'
import type { IceServerEntry } from './protocol.ts'
import type { ComponentLogger, Connection, Logger, Startable, Stream } from '@libp2p/interface'
import type { Registrar } from '@libp2p/interface-internal'

/**
 * The relay's side: answers each peer with ICE servers, TURN credentials minted for that peer
 * at that moment (`mint`). Asked over the peer's connection to the relay, relayed or not, so a
 * page on a static host (whose relays.json cannot mint) still gets fresh credentials.
 */
export interface IceServersServerInit {
  /** The servers for one asking peer (its peer id, and where it asks from: IPv4 address or IPv6 /64); TURN credentials minted now. */
  mint: (peerId: string, source: string) => IceServerEntry[]
  /** Asks per peer: a page asks once, then before expiry (default burst 10, then 1 a minute). */
  rate?: { capacity: number, refillPerSecond: number }
}

export interface IceServersServerComponents {
  registrar: Registrar
  logger: ComponentLogger
}

class IceServersServerService implements Startable {
  readonly [Symbol.toStringTag] = '@lightcafe/ice-servers-server'
  readonly [serviceCapabilities]: string[] = ['@lightcafe/ice-servers-server']
  readonly #registrar: Registrar
  readonly #log: Logger
  readonly #mint: IceServersServerInit['mint']
  readonly #limiter: RateLimiter

  constructor (components: IceServersServerComponents, init: IceServersServerInit) {
    this.#registrar = components.registrar
    this.#log = components.logger.forComponent('lightcafe:ice-servers')
    this.#mint = init.mint
    this.#limiter = new RateLimiter(init.rate ?? { capacity: 10, refillPerSecond: 1 / 60 })
  }

  async start (): Promise<void> {
    await this.#registrar.handle(ICE_PROTOCOL, async (stream, connection) => { await this.#serve(stream, connection) }, { runOnLimitedConnection: true })
  }

  async stop (): Promise<void> { await this.#registrar.unhandle(ICE_PROTOCOL) }

  async #serve (stream: Stream, connection: Connection): Promise<void> {
    const io = messages(stream)
    const signal = AbortSignal.timeout(ICE_LIMITS.timeoutMs)
    const peer = connection.remotePeer.toString()
    try {
      await io.read({ signal })
      const { ok, retryAfterMs } = this.#limiter.take(peer)
      // Credentials are never logged: only how many servers went to whom.
      const answer = ok ? { iceServers: this.#mint(peer, sourceOf(connection.remoteAddr.toString())) } : { error: 'RATE_LIMITED', retryMs: retryAfterMs }
      await io.write(answer, { signal })
      this.#log('%s ice servers to %p', ok ? 'gave' : 'refused', connection.remotePeer)
      await stream.close()
    } catch (err) {
      this.#log('request from %p failed: %s', connection.remotePeer, (err as Error).name)
      stream.abort(err as Error)
    }
  }
}

/** The service a relay runs (libp2p `services`), answering `/lightcafe/ice-servers/1.0.0`. */
export function iceServersServer (init: IceServersServerInit): (components: IceServersServerComponents) => unknown {
  return (components) => new IceServersServerService(components, init)
}
