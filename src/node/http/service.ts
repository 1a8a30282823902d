import { serviceCapabilities } from '@libp2p/interface'
import { HttpClient } from './client.ts'
import { HTTP_LIMITS, HTTP_PROTOCOL } from './protocol.ts'
import { serveStream, served } from './server.ts'
import type { FetchOptions } from './client.ts'
import type { Libp2pHttpHandler, ServeOptions, ServerLimits, Served } from './server.ts'
import type { AbortOptions, ComponentLogger, Connection, DialTarget, Logger, PeerId, Startable } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { Multiaddr } from '@multiformats/multiaddr'

/** HTTP over libp2p as a libp2p service (`services: { http: httpOverLibp2p() }`): both ends, one per node. */
export interface HttpOverLibp2p {
  /** Serves `handler` to remote peers from now on (again after a restart) until `unserve`. */
  serve(handler: Libp2pHttpHandler, options?: ServeOptions & AbortOptions): Promise<void>
  /** Stops serving: new streams are refused; those open finish. */
  unserve(options?: AbortOptions): Promise<void>
  /**
   * fetch() to a remote peer's handler. The URL's origin is ignored; path and query are sent.
   * `signal` covers the response body too: when it fires, the body errors with BODY_TIMEOUT and
   * the stream is reset, whether or not the caller is reading.
   */
  fetch(target: DialTarget | Connection, request: Request, options?: FetchOptions): Promise<Response>
  /** The open, unlimited (not relayed) connection to a peer, dialling when there is none. */
  directConnection(target: DialTarget, options?: AbortOptions): Promise<Connection>
  /** A connection through a circuit relay (the last resort when no WebRTC pair forms). */
  relayedConnection(target: Multiaddr[], options?: AbortOptions): Promise<Connection>
  /** The newest open direct connection to a peer (an old one may be dead and not yet noticed). */
  newestDirect(peer: PeerId): Connection | undefined
  /** The newest open relayed (limited) connection to `peer`. */
  newestRelayed(peer: PeerId): Connection | undefined
}

export interface HttpOverLibp2pInit {
  /** The server's limits (defaults: HTTP_LIMITS). */
  limits?: Partial<ServerLimits>
  /** Concurrent request streams a peer may open per connection (default HTTP_LIMITS.maxInboundStreams). */
  maxInboundStreams?: number
}

export interface HttpOverLibp2pComponents {
  registrar: Registrar
  connectionManager: ConnectionManager
  logger: ComponentLogger
}

class HttpOverLibp2pService implements HttpOverLibp2p, Startable {
  readonly [Symbol.toStringTag] = '@lightcafe/http-over-libp2p'
  readonly [serviceCapabilities]: string[] = ['@lightcafe/http-over-libp2p']

  readonly #registrar: Registrar
  readonly #log: Logger
  readonly #limits: ServerLimits
  readonly #maxInboundStreams: number
  readonly #client: HttpClient
  #served: Served | undefined
  #started = false

  constructor (components: HttpOverLibp2pComponents, init: HttpOverLibp2pInit) {
    this.#registrar = components.registrar
    this.#log = components.logger.forComponent('lightcafe:http')
    this.#limits = { ...HTTP_LIMITS, ...init.limits }
    this.#maxInboundStreams = init.maxInboundStreams ?? HTTP_LIMITS.maxInboundStreams
    this.#client = new HttpClient(components.connectionManager)
  }

  async start (): Promise<void> {
    this.#started = true
    if (this.#served != null) await this.#handle()
  }

  async stop (): Promise<void> {
    this.#started = false
    this.#client.clear()
    if (this.#served != null) await this.#registrar.unhandle(HTTP_PROTOCOL)
  }

  async #handle (options: AbortOptions = {}): Promise<void> {
    const s = this.#served
    if (s == null) return
    await this.#registrar.handle(HTTP_PROTOCOL, async (stream, connection) => { await serveStream(stream, connection, s) }, {
      maxInboundStreams: this.#maxInboundStreams,
      // Requests come over WebRTC; over a relayed (limited) connection only as the last resort
      // of a peer that cannot form a WebRTC pair (same authentication; the relay bounds it).
      runOnLimitedConnection: true,
      ...options
    })
    this.#log('serving %s', HTTP_PROTOCOL)
  }

  async serve (handler: Libp2pHttpHandler, options: ServeOptions & AbortOptions = {}): Promise<void> {
    if (this.#served != null) await this.unserve(options)
    this.#served = served(handler, this.#limits, options)
    if (this.#started) await this.#handle({ signal: options.signal })
  }

  async unserve (options: AbortOptions = {}): Promise<void> {
    if (this.#served == null) return
    this.#served = undefined
    if (this.#started) await this.#registrar.unhandle(HTTP_PROTOCOL, options)
  }

  async fetch (target: DialTarget | Connection, request: Request, options?: FetchOptions): Promise<Response> {
    return this.#client.fetch(target, request, options)
  }

  async directConnection (target: DialTarget, options?: AbortOptions): Promise<Connection> {
    return this.#client.directConnection(target, options)
  }

  async relayedConnection (target: Multiaddr[], options?: AbortOptions): Promise<Connection> {
    return this.#client.relayedConnection(target, options)
  }

  newestDirect (peer: PeerId): Connection | undefined { return this.#client.newestDirect(peer) }
  newestRelayed (peer: PeerId): Connection | undefined { return this.#client.newestRelayed(peer) }
}

/** The service factory, for libp2p's `services`. */
export function httpOverLibp2p (init: HttpOverLibp2pInit = {}): (components: HttpOverLibp2pComponents) => HttpOverLibp2p {
  return (components) => new HttpOverLibp2pService(components, init)
}
