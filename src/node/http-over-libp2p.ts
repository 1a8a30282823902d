import { lpStream } from '@libp2p/utils'
import { Uint8ArrayList } from 'uint8arraylist'
import { bodyOf, streamingRequest } from '../shared/request-body.ts'
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import type { LengthPrefixedStream } from '@libp2p/utils'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * fetch() over libp2p streams. We use our own framing rather than @libp2p/http 2.0.6 because
 * its client drops query strings, its server ignores chunked request bodies and it has no
 * backpressure (docs/ARCHITECTURE.md). Every frame is varint-length-prefixed and starts with
 * a type byte:
 *
 *   request:  H {m, u, h}  then D frames  then E      response: H {s, h, c?}  then D...  then E
 *   A <uint32>: the receiver of a body consumed that many more bytes (flow control)
 *
 * Flow control is ours because libp2p's WebRTC streams have none on the reading side: a
 * sender faster than the reader overflows the reader's 4 MiB buffer and the stream is
 * aborted (measured with a 20 MiB upload into IndexedDB). A body's sender keeps at most
 * `windowBytes` unacknowledged; the receiver acknowledges what its consumer has read.
 *
 * Streams are kept alive for further requests, one at a time: over WebRTC each new stream
 * is a new data channel plus protocol negotiation (~14 ms measured), several times the cost
 * of a small request itself.
 */
export const HTTP_PROTOCOL = '/lightcafe/http/1.1.0'

export const HTTP_LIMITS = {
  /** Method + path + headers: 16 KiB is far above any real request and bounds parsing. */
  maxHeadBytes: 16 * 1024,
  /** Bodies are cut into frames of at most this, so a frame never holds much memory. */
  frameBytes: 256 * 1024,
  /** Unacknowledged body bytes in flight: far above a LAN's bandwidth-delay product, far below libp2p's 4 MiB read buffer. */
  windowBytes: 1024 * 1024,
  /** The receiver acknowledges every this many bytes it consumed. */
  ackEveryBytes: 256 * 1024,
  /** A stranger can open at most this many concurrent request streams per connection. */
  maxInboundStreams: 64,
  /** The first request head must arrive this soon after a stream opens. */
  headTimeoutMs: 10_000,
  /** A kept-alive stream with no request for this long is closed by the server... */
  serverIdleMs: 30_000,
  /**
   * ...and the client stops reusing it well before, so the two never race. Short: a stream
   * kept across the peer's page reload would be dead (its connection still looks open) and
   * a request on it would hang; a page reload takes longer than this.
   */
  clientIdleMs: 2_000,
  /** Unread request body a server drains to keep a stream; past this it drops the stream. */
  maxDrainBytes: 1024 * 1024,
  /**
   * A new stream on an open connection normally opens in ~14 ms; one that takes this long
   * means the connection is dead but not yet noticed (a WebRTC peer that reloaded looks open
   * until ICE gives up, ~30 s): the connection is closed so the next dial makes a fresh one.
   */
  streamOpenTimeoutMs: 3_000
} as const

export class HttpOverLibp2pError extends Error {
  static override name = 'HttpOverLibp2pError'
  override name = 'HttpOverLibp2pError'
}

/** The connection was found dead before anything was sent: the request may be retried on a new one. */
export class DeadConnectionError extends HttpOverLibp2pError {
  static override name = 'DeadConnectionError'
  override name = 'DeadConnectionError'
}

interface RequestHead { m: string, u: string, h: Array<[string, string]> }
/** `c: 1`: the server closes the stream after this response (it could not consume the request body), so the client must not reuse it. */
interface ResponseHead { s: number, h: Array<[string, string]>, c?: 1 }
type Lp = LengthPrefixedStream<Stream>

export interface ServeInfo {
  /** Authenticated by Noise: the caller really is this peer. */
  remotePeer: string
  connection: Connection
}

export type Libp2pHttpHandler = (request: Request, info: ServeInfo) => Promise<Response>

const enc = new TextEncoder()
const dec = new TextDecoder()
const HEAD = 0x48
const DATA = 0x44
const END = 0x45
const ACK = 0x41
const tag = (type: number): Uint8Array => Uint8Array.of(type)
const frame = (type: number, data?: Uint8Array): Uint8ArrayList => data == null ? new Uint8ArrayList(tag(type)) : new Uint8ArrayList(tag(type), data)

interface Frame { type: number, data: Uint8Array }

/**
 * One end of a stream: typed frames, and the flow-control counters of both directions.
 * Counters are cumulative over the stream's life, so late acknowledgements of an earlier
 * message still add up.
 */
class Framed {
  readonly lp: Lp
  #stash: Frame | undefined
  #sent = 0
  #acked = 0
  #consumed = 0
  #ackSent = 0

  constructor (stream: Stream) {
    this.lp = lpStream(stream, { maxDataLength: Math.max(HTTP_LIMITS.maxHeadBytes, HTTP_LIMITS.frameBytes) + 1 })
  }

  async #readAny (signal?: AbortSignal): Promise<Frame> {
    if (this.#stash != null) { const f = this.#stash; this.#stash = undefined; return f }
    const list = await this.lp.read({ signal })
    if (list.byteLength === 0) throw new HttpOverLibp2pError('empty frame')
    const bytes = list.subarray()
    return { type: bytes[0], data: bytes.subarray(1) }
  }

  #credit (f: Frame): void {
    if (f.data.byteLength !== 4) throw new HttpOverLibp2pError('malformed ack')
    this.#acked += new DataView(f.data.buffer, f.data.byteOffset, 4).getUint32(0)
    if (this.#acked > this.#sent) throw new HttpOverLibp2pError('ack for bytes never sent')
  }

  /** The next frame that is not an acknowledgement (those are counted on the way). */
  async read (signal?: AbortSignal): Promise<Frame> {
    for (;;) {
      const f = await this.#readAny(signal)
      if (f.type !== ACK) return f
      this.#credit(f)
    }
  }

  /**
   * Waits until `bytes` more may be sent. False if the peer sent something else meanwhile
   * (a server answering before reading the whole body): the caller stops sending.
   */
  async waitCredit (bytes: number, signal?: AbortSignal): Promise<boolean> {
    while (this.#sent + bytes - this.#acked > HTTP_LIMITS.windowBytes) {
      const f = await this.#readAny(signal)
      if (f.type !== ACK) { this.#stash = f; return false }
      this.#credit(f)
    }
    return true
  }

  sent (bytes: number): void { this.#sent += bytes }

  /** The consumer read `bytes` of a body: acknowledge them in batches. */
  async consumed (bytes: number): Promise<void> {
    this.#consumed += bytes
    const due = this.#consumed - this.#ackSent
    if (due < HTTP_LIMITS.ackEveryBytes) return
    this.#ackSent = this.#consumed
    const n = new Uint8Array(4)
    new DataView(n.buffer).setUint32(0, due)
    await this.lp.write(frame(ACK, n))
  }
}

/** A body arriving as frames; knows whether its end frame was read, so the stream can be reused. */
class IncomingBody {
  ended = false
  readonly #io: Framed
  constructor (io: Framed) { this.#io = io }

  async next (signal?: AbortSignal): Promise<Uint8Array | null> {
    if (this.ended) return null
    const f = await this.#io.read(signal)
    if (f.type === END) { this.ended = true; return null }
    if (f.type !== DATA) throw new HttpOverLibp2pError('unexpected frame in a body')
    await this.#io.consumed(f.data.byteLength)
    return f.data
  }

  /**
   * The body as a stream. `onEnd` runs when the end frame was read (the stream can carry the
   * next message); a consumer that cancels early gets the rest drained (bounded) first, and
   * `onBroken` runs if that fails, so a cancelled body never leaks its libp2p stream.
   */
  stream (onEnd?: () => void, onBroken?: () => void): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        try {
          const chunk = await this.next()
          if (chunk == null) { controller.close(); onEnd?.() } else controller.enqueue(chunk)
        } catch (err) {
          controller.error(err)
          onBroken?.()
        }
      },
      cancel: async () => {
        try {
          if (await this.drain(HTTP_LIMITS.maxDrainBytes)) onEnd?.()
          else onBroken?.()
        } catch {
          onBroken?.()
        }
      }
    }, { highWaterMark: 0 })
  }

  /** Reads what is left, up to `max` bytes; false if there was more. */
  async drain (max: number): Promise<boolean> {
    let n = 0
    for (let chunk = await this.next(); chunk != null; chunk = await this.next()) {
      n += chunk.byteLength
      if (n > max) return false
    }
    return true
  }
}

const WOULD_WAIT = Symbol('would wait')

/**
 * Writes a head frame, the body as data frames within the flow-control window, then the end
 * frame. Frames that are ready together go out as one message (a JSON request or answer is a
 * single send: over WebRTC each message is a data-channel send); whenever the body would make
 * us wait, what is pending is sent first, so streamed bodies are never held back.
 * If the peer answers before taking the whole body, sending stops there (and the body is cancelled).
 */
async function writeMessage (io: Framed, head: Uint8Array, body: ReadableStream<Uint8Array> | null, signal?: AbortSignal): Promise<void> {
  let pending: Uint8ArrayList[] = [frame(HEAD, head)]
  let pendingBytes = 0
  const flush = async (): Promise<void> => {
    if (pending.length > 0) await io.lp.writeV(pending, { signal })
    pending = []
    pendingBytes = 0
  }
  let stopped = false
  if (body != null) {
    const reader = body.getReader()
    try {
      for (let next = reader.read(); ; next = reader.read()) {
        // An already-queued chunk wins the race; a pending read loses to the resolved marker.
        let result = await Promise.race([next, Promise.resolve(WOULD_WAIT)])
        if (result === WOULD_WAIT) {
          await flush()
          result = await next
        }
        if (result.done === true) break
        const value = result.value
        for (let i = 0; i < value.byteLength && !stopped; i += HTTP_LIMITS.frameBytes) {
          const piece = value.subarray(i, i + HTTP_LIMITS.frameBytes)
          if (pendingBytes + piece.byteLength > HTTP_LIMITS.frameBytes) await flush()
          if (!(await io.waitCredit(piece.byteLength, signal))) { stopped = true; break }
          pending.push(frame(DATA, piece))
          pendingBytes += piece.byteLength
          io.sent(piece.byteLength)
        }
        if (stopped) break
      }
    } finally {
      if (stopped) await reader.cancel().catch(() => {})
      reader.releaseLock()
    }
  }
  pending.push(frame(END))
  if (!stopped) return await flush()
  // The peer answered early and may already have closed its side: the end frame is a courtesy.
  await flush().catch(() => {})
}

function parseHead<T> (bytes: Uint8Array, check: (v: any) => boolean): T {
  if (bytes.byteLength > HTTP_LIMITS.maxHeadBytes) throw new HttpOverLibp2pError('head too large')
  let value: unknown
  try { value = JSON.parse(dec.decode(bytes)) } catch { throw new HttpOverLibp2pError('malformed head') }
  if (!check(value)) throw new HttpOverLibp2pError('malformed head')
  return value as T
}

const isHeaders = (h: unknown): boolean => Array.isArray(h) && h.length <= 128 && h.every(p => Array.isArray(p) && p.length === 2 && typeof p[0] === 'string' && typeof p[1] === 'string')
const hasNoBody = (method: string): boolean => method === 'GET' || method === 'HEAD'

/** Answers one request on a stream. True if the stream can carry another. */
async function serveOne (io: Framed, first: boolean, handler: Libp2pHttpHandler, info: ServeInfo): Promise<boolean> {
  let headFrame: Frame
  try {
    headFrame = await io.read(AbortSignal.timeout(first ? HTTP_LIMITS.headTimeoutMs : HTTP_LIMITS.serverIdleMs))
  } catch {
    return false // the client closed the stream, or left it idle
  }
  if (headFrame.type !== HEAD) throw new HttpOverLibp2pError('expected a request head')
  const head = parseHead<RequestHead>(headFrame.data, v => typeof v?.m === 'string' && /^[A-Z]{1,10}$/.test(v.m) && typeof v.u === 'string' && v.u.startsWith('/') && isHeaders(v.h))
  const body = new IncomingBody(io)
  // The body's real size is what arrives: a claimed length must not let a body limit trust it.
  const headers = head.h.filter(([k]) => !/^(content-length|transfer-encoding)$/i.test(k))
  const url = new URL(head.u, 'http://libp2p.invalid')
  const request = hasNoBody(head.m) ? new Request(url, { method: head.m, headers }) : streamingRequest(url, { method: head.m, headers }, body.stream())
  if (hasNoBody(head.m)) await body.drain(0)
  let response: Response
  try {
    response = await handler(request, info)
  } catch (err) {
    console.error('libp2p http handler failed', err)
    response = Response.json({ error: { reason: 'INTERNAL', details: 'the handler failed' } }, { status: 500 })
  }
  // Whatever the handler left unread must be consumed before the next head can be read.
  const reusable = body.ended || await body.drain(HTTP_LIMITS.maxDrainBytes)
  const out: ResponseHead = { s: response.status, h: [...response.headers], ...(reusable ? {} : { c: 1 as const }) }
  await writeMessage(io, enc.encode(JSON.stringify(out)), head.m === 'HEAD' ? null : response.body)
  return reusable
}

/** Serves `handler` to remote peers. Returns a function that stops serving. */
export async function serveHttp (libp2p: Libp2p, handler: Libp2pHttpHandler): Promise<() => Promise<void>> {
  await libp2p.handle(HTTP_PROTOCOL, async (stream, connection) => {
    const io = new Framed(stream)
    const info = { remotePeer: connection.remotePeer.toString(), connection }
    try {
      for (let first = true; await serveOne(io, first, handler, info); first = false) { /* next request on this stream */ }
      await stream.close().catch(() => {})
    } catch (err) {
      stream.abort(err as Error)
    }
  }, { maxInboundStreams: HTTP_LIMITS.maxInboundStreams, runOnLimitedConnection: false })
  return async () => { await libp2p.unhandle(HTTP_PROTOCOL) }
}

/**
 * The newest open, unlimited (not relayed) connection to a peer. Newest: after the peer's page
 * reloads, its old WebRTC connection can look open until ICE notices it is dead.
 */
export function newestDirect (libp2p: Libp2p, peer: PeerId): Connection | undefined {
  return libp2p.getConnections(peer).filter(c => c.status === 'open' && c.limits == null).sort((a, b) => b.timeline.open - a.timeline.open)[0]
}

/** The open, unlimited (not relayed) connection to a peer, dialling when there is none. */
export async function directConnection (libp2p: Libp2p, target: PeerId | Multiaddr | Multiaddr[], signal?: AbortSignal): Promise<Connection> {
  if (!Array.isArray(target) && 'toMultihash' in target) {
    const open = newestDirect(libp2p, target)
    if (open != null) return open
  }
  const conn = await libp2p.dial(target, { signal })
  if (conn.limits == null) return conn
  const direct = newestDirect(libp2p, conn.remotePeer)
  if (direct != null) return direct
  throw new HttpOverLibp2pError(`only a relayed connection to ${conn.remotePeer.toString()} is open; dial its /p2p-circuit/webrtc address`)
}

async function openStream (connection: Connection, signal: AbortSignal, suspect: boolean): Promise<Stream> {
  // A fresh connection's first streams may be slow on a busy machine; only one that has been
  // open a while is suspected of being dead.
  if (!suspect) return connection.newStream(HTTP_PROTOCOL, { signal })
  const opening = AbortSignal.timeout(HTTP_LIMITS.streamOpenTimeoutMs)
  try {
    return await connection.newStream(HTTP_PROTOCOL, { signal: AbortSignal.any([signal, opening]) })
  } catch (err) {
    if (signal.aborted) throw err
    // Slow or refused: either way nothing was sent, and this connection is not worth keeping.
    // Aborted, not closed: a graceful close would wait on the dead peer, and meanwhile a dial
    // could be handed this same connection again.
    connection.abort(err as Error)
    throw new DeadConnectionError(`no stream opened on the connection to ${connection.remotePeer.toString()} (${opening.aborted ? `${HTTP_LIMITS.streamOpenTimeoutMs} ms` : (err as Error).message}); it is closed`)
  }
}

interface IdleStream { stream: Stream, io: Framed, since: number }
// Idle request streams per connection; a WeakMap so closed connections take theirs with them.
const idle = new WeakMap<Connection, IdleStream[]>()

function takeIdle (connection: Connection): IdleStream | undefined {
  const list = idle.get(connection) ?? []
  const now = Date.now()
  for (let s = list.pop(); s != null; s = list.pop()) {
    if (s.stream.status === 'open' && now - s.since < HTTP_LIMITS.clientIdleMs) return s
    s.stream.abort(new HttpOverLibp2pError('idle too long'))
  }
  return undefined
}

function putIdle (connection: Connection, s: IdleStream): void {
  if (connection.status !== 'open' || s.stream.status !== 'open') return
  const list = idle.get(connection) ?? []
  list.push({ ...s, since: Date.now() })
  idle.set(connection, list)
}

/** fetch() to a remote peer's HTTP handler. The URL's origin is ignored; path and query are sent. */
export async function fetchOverLibp2p (libp2p: Libp2p, target: PeerId | Multiaddr | Multiaddr[] | Connection, request: Request, options: { signal?: AbortSignal } = {}): Promise<Response> {
  const signal = options.signal ?? AbortSignal.timeout(30_000)
  const connection = 'newStream' in target ? target : await directConnection(libp2p, target, signal)
  const reused = takeIdle(connection)
  const stream = reused?.stream ?? await openStream(connection, signal, Date.now() - connection.timeline.open > HTTP_LIMITS.streamOpenTimeoutMs)
  const io = reused?.io ?? new Framed(stream)
  try {
    const url = new URL(request.url)
    const head: RequestHead = { m: request.method, u: url.pathname + url.search, h: [...request.headers] }
    await writeMessage(io, enc.encode(JSON.stringify(head)), hasNoBody(request.method) ? null : bodyOf(request), signal)
    const headFrame = await io.read(signal)
    if (headFrame.type !== HEAD) throw new HttpOverLibp2pError('expected a response head')
    const resHead = parseHead<ResponseHead>(headFrame.data, v => Number.isInteger(v?.s) && v.s >= 200 && v.s <= 599 && isHeaders(v.h))
    const body = new IncomingBody(io)
    const release = (): void => {
      if (resHead.c === 1) stream.close().catch(() => {})
      else putIdle(connection, { stream, io, since: 0 })
    }
    if ([204, 205, 304].includes(resHead.s) || request.method === 'HEAD') {
      await body.drain(0)
      release()
      return new Response(null, { status: resHead.s, headers: resHead.h })
    }
    // The stream goes back to the pool once the caller has read the body to its end frame.
    return new Response(body.stream(release, () => { stream.abort(new HttpOverLibp2pError('response body abandoned')) }), { status: resHead.s, headers: resHead.h })
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}
