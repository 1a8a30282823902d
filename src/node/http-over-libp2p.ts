import { lpStream } from '@libp2p/utils'
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import type { LengthPrefixedStream } from '@libp2p/utils'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * fetch() over libp2p streams, framed with varint length prefixes. We use our own framing
 * rather than @libp2p/http 2.0.6 because its client drops query strings, its server ignores
 * chunked request bodies and it has no backpressure (docs/ARCHITECTURE.md). Bodies stream
 * both ways with backpressure.
 *
 *   request:  head {m, u, h}  then body frames  then an empty frame
 *   response: head {s, h}     then body frames  then an empty frame
 *
 * Streams are kept alive for further requests, one at a time: over WebRTC each new stream
 * is a new data channel plus protocol negotiation (~14 ms measured), several times the cost
 * of a small request itself.
 */
export const HTTP_PROTOCOL = '/lightcafe/http/1.0.0'

export const HTTP_LIMITS = {
  /** Method + path + headers: 16 KiB is far above any real request and bounds parsing. */
  maxHeadBytes: 16 * 1024,
  /** Bodies are cut into frames of at most this, so a frame never holds much memory. */
  frameBytes: 256 * 1024,
  /** A stranger can open at most this many concurrent request streams per connection. */
  maxInboundStreams: 64,
  /** The first request head must arrive this soon after a stream opens. */
  headTimeoutMs: 10_000,
  /** A kept-alive stream with no request for this long is closed by the server... */
  serverIdleMs: 30_000,
  /** ...and the client stops reusing it well before, so the two never race. */
  clientIdleMs: 10_000,
  /** Unread request body a server drains to keep a stream; past this it drops the stream. */
  maxDrainBytes: 1024 * 1024
} as const

export class HttpOverLibp2pError extends Error {
  static override name = 'HttpOverLibp2pError'
  override name = 'HttpOverLibp2pError'
}

interface RequestHead { m: string, u: string, h: Array<[string, string]> }
interface ResponseHead { s: number, h: Array<[string, string]> }
type Lp = LengthPrefixedStream<Stream>

export interface ServeInfo {
  /** Authenticated by Noise: the caller really is this peer. */
  remotePeer: string
  connection: Connection
}

export type Libp2pHttpHandler = (request: Request, info: ServeInfo) => Promise<Response>

const enc = new TextEncoder()
const dec = new TextDecoder()
const lpOf = (stream: Stream): Lp => lpStream(stream, { maxDataLength: Math.max(HTTP_LIMITS.maxHeadBytes, HTTP_LIMITS.frameBytes) })

/** A body arriving as frames; knows whether its end frame was read, so the stream can be reused. */
class IncomingBody {
  ended = false
  readonly #lp: Lp
  constructor (lp: Lp) { this.#lp = lp }

  async next (signal?: AbortSignal): Promise<Uint8Array | null> {
    if (this.ended) return null
    const frame = await this.#lp.read({ signal })
    if (frame.byteLength === 0) { this.ended = true; return null }
    return frame.subarray()
  }

  stream (onEnd?: () => void): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        try {
          const chunk = await this.next()
          if (chunk == null) { controller.close(); onEnd?.() } else controller.enqueue(chunk)
        } catch (err) {
          controller.error(err)
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
 * Writes `first` (a head frame), the body as frames, then the end frame. Frames that are
 * ready together go out as one message (a JSON request or answer is a single send: over
 * WebRTC each message is a data-channel send); whenever the body would make us wait, what
 * is pending is sent first, so streamed bodies are never held back.
 */
async function writeMessage (lp: Lp, first: Uint8Array | null, body: ReadableStream<Uint8Array> | null, signal?: AbortSignal): Promise<void> {
  let pending: Uint8Array[] = first != null ? [first] : []
  let pendingBytes = first?.byteLength ?? 0
  const flush = async (): Promise<void> => {
    if (pending.length > 0) await lp.writeV(pending, { signal })
    pending = []
    pendingBytes = 0
  }
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
        for (let i = 0; i < value.byteLength; i += HTTP_LIMITS.frameBytes) {
          const frame = value.subarray(i, i + HTTP_LIMITS.frameBytes)
          if (pendingBytes + frame.byteLength > HTTP_LIMITS.frameBytes) await flush()
          pending.push(frame)
          pendingBytes += frame.byteLength
        }
      }
    } finally {
      reader.releaseLock()
    }
  }
  pending.push(new Uint8Array(0))
  await flush()
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
async function serveOne (lp: Lp, first: boolean, handler: Libp2pHttpHandler, info: ServeInfo): Promise<boolean> {
  let headBytes
  try {
    headBytes = await lp.read({ signal: AbortSignal.timeout(first ? HTTP_LIMITS.headTimeoutMs : HTTP_LIMITS.serverIdleMs) })
  } catch {
    return false // the client closed the stream, or left it idle
  }
  const head = parseHead<RequestHead>(headBytes.subarray(), v => typeof v?.m === 'string' && /^[A-Z]{1,10}$/.test(v.m) && typeof v.u === 'string' && v.u.startsWith('/') && isHeaders(v.h))
  const body = new IncomingBody(lp)
  // The body's real size is what arrives: a claimed length must not let a body limit trust it.
  const headers = head.h.filter(([k]) => !/^(content-length|transfer-encoding)$/i.test(k))
  const request = new Request(new URL(head.u, 'http://libp2p.invalid'), {
    method: head.m,
    headers,
    ...(hasNoBody(head.m) ? {} : { body: body.stream(), duplex: 'half' })
  } as RequestInit)
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
  const out: ResponseHead = { s: response.status, h: [...response.headers] }
  await writeMessage(lp, enc.encode(JSON.stringify(out)), head.m === 'HEAD' ? null : response.body)
  return reusable
}

/** Serves `handler` to remote peers. Returns a function that stops serving. */
export async function serveHttp (libp2p: Libp2p, handler: Libp2pHttpHandler): Promise<() => Promise<void>> {
  await libp2p.handle(HTTP_PROTOCOL, async (stream, connection) => {
    const lp = lpOf(stream)
    const info = { remotePeer: connection.remotePeer.toString(), connection }
    try {
      for (let first = true; await serveOne(lp, first, handler, info); first = false) { /* next request on this stream */ }
      await stream.close().catch(() => {})
    } catch (err) {
      stream.abort(err as Error)
    }
  }, { maxInboundStreams: HTTP_LIMITS.maxInboundStreams, runOnLimitedConnection: false })
  return async () => { await libp2p.unhandle(HTTP_PROTOCOL) }
}

/** The open, unlimited (not relayed) connection to a peer, dialling when there is none. */
export async function directConnection (libp2p: Libp2p, target: PeerId | Multiaddr | Multiaddr[], signal?: AbortSignal): Promise<Connection> {
  if (!Array.isArray(target) && 'toMultihash' in target) {
    const open = libp2p.getConnections(target).find(c => c.status === 'open' && c.limits == null)
    if (open != null) return open
  }
  const conn = await libp2p.dial(target, { signal })
  if (conn.limits == null) return conn
  const direct = libp2p.getConnections(conn.remotePeer).find(c => c.status === 'open' && c.limits == null)
  if (direct != null) return direct
  throw new HttpOverLibp2pError(`only a relayed connection to ${conn.remotePeer.toString()} is open; dial its /p2p-circuit/webrtc address`)
}

interface IdleStream { stream: Stream, lp: Lp, since: number }
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
  const stream = reused?.stream ?? await connection.newStream(HTTP_PROTOCOL, { signal })
  const lp = reused?.lp ?? lpOf(stream)
  try {
    const url = new URL(request.url)
    const head: RequestHead = { m: request.method, u: url.pathname + url.search, h: [...request.headers] }
    await writeMessage(lp, enc.encode(JSON.stringify(head)), hasNoBody(request.method) ? null : request.body, signal)
    const resHead = parseHead<ResponseHead>((await lp.read({ signal })).subarray(), v => Number.isInteger(v?.s) && v.s >= 200 && v.s <= 599 && isHeaders(v.h))
    const body = new IncomingBody(lp)
    if ([204, 205, 304].includes(resHead.s) || request.method === 'HEAD') {
      await body.drain(0)
      putIdle(connection, { stream, lp, since: 0 })
      return new Response(null, { status: resHead.s, headers: resHead.h })
    }
    // The stream goes back to the pool once the caller has read the body to its end frame.
    return new Response(body.stream(() => { putIdle(connection, { stream, lp, since: 0 }) }), { status: resHead.s, headers: resHead.h })
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}
