import { causeOf } from '../../shared/error-cause.ts'
import { bodyOf } from '../../shared/request-body.ts'
import { Framed, IncomingBody, writeMessage } from './framing.ts'
import { FRAME, HTTP_LIMITS, HTTP_PROTOCOL, HttpOverLibp2pError, encodeHead, hasNoBody, parseResponseHead } from './protocol.ts'
import type { RequestHead } from './protocol.ts'
import type { AbortOptions, Connection, DialTarget, PeerId, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * The asking end: fetch() to a remote peer's handler, on a kept-alive stream when one is free.
 * Streams are kept for further requests, one at a time: over WebRTC each new stream is a new
 * data channel plus protocol negotiation (~14 ms measured), several times the cost of a small
 * request itself.
 */

/** The connection was found dead before anything was sent: the request may be retried on a new one. */
export class DeadConnectionError extends HttpOverLibp2pError {
  static override name = 'DeadConnectionError'
  override name = 'DeadConnectionError'
  constructor (details: string) { super('DEAD_CONNECTION', details) }
}

/**
 * The peer answered that it does not speak HTTP over libp2p (multistream-select found no
 * common protocol: a relay, a peer of another kind). An answer, so its connection is fine.
 */
export class ProtocolRefusedError extends HttpOverLibp2pError {
  static override name = 'ProtocolRefusedError'
  override name = 'ProtocolRefusedError'
  constructor (details: string, options?: ErrorOptions) { super('PROTOCOL_UNSUPPORTED', details, options) }
}

/** Whether libp2p rejected a new stream because the peer refused the protocol (its UnsupportedProtocolError). */
export function protocolRefused (err: unknown): boolean {
  return err instanceof Error && err.name === 'UnsupportedProtocolError'
}

export interface FetchOptions extends AbortOptions {
  /** Covers the whole exchange, the response body included (default: 30 s). */
  signal?: AbortSignal
  /** The response body past this errors with BODY_TOO_LARGE and the stream is reset. */
  maxBodyBytes?: number
  /** Each response body frame must follow the previous one this soon (default HTTP_LIMITS.bodyIdleMs). */
  bodyIdleMs?: number
}

/** What the client needs of libp2p's connection manager. */
export interface Dialer {
  getConnections(peer?: PeerId): Connection[]
  openConnection(target: DialTarget, options?: AbortOptions & { priority?: number }): Promise<Connection>
}

interface IdleStream { stream: Stream, io: Framed, since: number }

/** Finished request streams per connection; a WeakMap so closed connections take theirs with them. */
class StreamPool {
  #idle = new WeakMap<Connection, IdleStream[]>()

  take (connection: Connection): IdleStream | undefined {
    const list = this.#idle.get(connection) ?? []
    const now = Date.now()
    for (let s = list.pop(); s != null; s = list.pop()) {
      if (s.stream.status === 'open' && now - s.since < HTTP_LIMITS.clientIdleMs) return s
      s.stream.abort(new HttpOverLibp2pError('MALFORMED_FRAME', 'idle too long'))
    }
    return undefined
  }

  put (connection: Connection, s: IdleStream): void {
    if (connection.status !== 'open' || s.stream.status !== 'open') return
    const list = this.#idle.get(connection) ?? []
    list.push({ ...s, since: Date.now() })
    this.#idle.set(connection, list)
  }

  /** Forgets every kept stream (they close with their connections). */
  clear (): void { this.#idle = new WeakMap() }
}

async function openStream (connection: Connection, signal: AbortSignal, suspect: boolean): Promise<Stream> {
  const peer = connection.remotePeer.toString()
  // A fresh connection's first streams may be slow on a busy machine; only one that has been
  // open a while is suspected of being dead.
  const opening = suspect ? AbortSignal.timeout(HTTP_LIMITS.streamOpenTimeoutMs) : undefined
  try {
    // A relayed (limited) connection is used only when the caller chose it: the last resort.
    return await connection.newStream(HTTP_PROTOCOL, { signal: opening != null ? AbortSignal.any([signal, opening]) : signal, runOnLimitedConnection: connection.limits != null })
  } catch (err) {
    // The peer said no: it is alive and answering, it just does not serve this protocol.
    if (protocolRefused(err)) throw new ProtocolRefusedError(`${peer} does not serve ${HTTP_PROTOCOL}`, { cause: err })
    if (opening == null || signal.aborted) throw err
    // No stream in time, or the connection failed under it: nothing was sent, and this
    // connection is not worth keeping. Aborted, not closed: a graceful close would wait on the
    // dead peer, and meanwhile a dial could be handed this same connection again.
    connection.abort(err as Error)
    throw new DeadConnectionError(`no stream opened on the connection to ${peer} (${opening.aborted ? `${HTTP_LIMITS.streamOpenTimeoutMs} ms` : causeOf(err)}); it is closed`)
  }
}

export class HttpClient {
  readonly #dialer: Dialer
  readonly #pool = new StreamPool()

  constructor (dialer: Dialer) { this.#dialer = dialer }

  /**
   * The newest open, unlimited (not relayed) connection to a peer. Newest: after the peer's page
   * reloads, its old WebRTC connection can look open until ICE notices it is dead.
   */
  newestDirect (peer: PeerId): Connection | undefined {
    return this.#dialer.getConnections(peer).filter(c => c.status === 'open' && c.limits == null).sort((a, b) => b.timeline.open - a.timeline.open)[0]
  }

  /**
   * The newest open relayed (limited) connection to a peer. Taken before dialling again: libp2p
   * reuses only unlimited connections, and a new dial joins any dial to that peer in flight (a
   * WebRTC dial tried behind the relayed connection, up to 15 s).
   */
  newestRelayed (peer: PeerId): Connection | undefined {
    return this.#dialer.getConnections(peer).filter(c => c.status === 'open' && c.limits != null).sort((a, b) => b.timeline.open - a.timeline.open)[0]
  }

  /** The open, unlimited (not relayed) connection to a peer, dialling when there is none. */
  async directConnection (target: DialTarget, options: AbortOptions = {}): Promise<Connection> {
    if (!Array.isArray(target) && 'toMultihash' in target) {
      const open = this.newestDirect(target)
      if (open != null) return open
    }
    // A user's dial: first in libp2p's queue, as `libp2p.dial` puts it.
    const conn = await this.#dialer.openConnection(target, { priority: 75, ...options })
    if (conn.limits == null) return conn
    const direct = this.newestDirect(conn.remotePeer)
    if (direct != null) return direct
    throw new HttpOverLibp2pError('MALFORMED_FRAME', `only a relayed connection to ${conn.remotePeer.toString()} is open; dial its /p2p-circuit/webrtc address`)
  }

  /**
   * A connection through a circuit relay (limited by the relay's owner in bytes and time), for
   * when no WebRTC pair can form: an open one to the peer, or a dial of `target`
   * (`<relay>/p2p-circuit/p2p/<peer>`). A direct connection, if libp2p gives one, is fine too.
   */
  async relayedConnection (target: Multiaddr[], options: AbortOptions = {}): Promise<Connection> {
    const conn = await this.#dialer.openConnection(target, { priority: 75, ...options })
    return this.newestDirect(conn.remotePeer) ?? conn
  }

  /**
   * fetch() to a remote peer's HTTP handler. The URL's origin is ignored; path and query are sent.
   * `signal` covers the response body too: when it fires, the body errors with BODY_TIMEOUT and
   * the stream is reset, whether or not the caller is reading.
   */
  async fetch (target: DialTarget | Connection, request: Request, options: FetchOptions = {}): Promise<Response> {
    const signal = options.signal ?? AbortSignal.timeout(30_000)
    const connection = 'newStream' in target ? target : await this.directConnection(target, { signal })
    const reused = this.#pool.take(connection)
    const stream = reused?.stream ?? await openStream(connection, signal, Date.now() - connection.timeline.open > HTTP_LIMITS.streamOpenTimeoutMs)
    const io = reused?.io ?? new Framed(stream, { readMs: options.bodyIdleMs ?? HTTP_LIMITS.bodyIdleMs, sendMs: HTTP_LIMITS.sendIdleMs })
    try {
      const url = new URL(request.url)
      const head: RequestHead = { m: request.method, u: url.pathname + url.search, h: [...request.headers] }
      await writeMessage(io, encodeHead(head), hasNoBody(request.method) ? null : bodyOf(request), { signal })
      const headFrame = await io.read({ signal })
      if (headFrame.type !== FRAME.HEAD) throw new HttpOverLibp2pError('UNEXPECTED_FRAME', 'expected a response head')
      const resHead = parseResponseHead(headFrame.data)
      const body = new IncomingBody(io, { max: options.maxBodyBytes, what: `the answer of ${connection.remotePeer.toString()}` })
      const release = (): void => {
        if (resHead.c === 1) stream.close().catch(() => {})
        else this.#pool.put(connection, { stream, io, since: 0 })
      }
      const broken = (): void => { stream.abort(body.failed ?? new HttpOverLibp2pError('BODY_ABANDONED', 'response body abandoned')) }
      if ([204, 205, 304].includes(resHead.s) || request.method === 'HEAD') {
        await body.drain(0, { signal })
        release()
        return new Response(null, { status: resHead.s, headers: resHead.h })
      }
      // The stream goes back to the pool once the caller has read the body to its end frame.
      return new Response(body.stream({ onEnd: release, onBroken: broken, signal }), { status: resHead.s, headers: resHead.h })
    } catch (err) {
      stream.abort(err as Error)
      throw err
    }
  }

  /** Forgets the kept streams (the node is stopping; they close with their connections). */
  clear (): void { this.#pool.clear() }
}
