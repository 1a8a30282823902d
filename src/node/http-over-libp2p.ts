import { lpStream } from '@libp2p/utils'
import { causeOf } from '../shared/error-cause.ts'
import { Uint8ArrayList } from 'uint8arraylist'
import { BodyTimeoutError, BodyTooLargeError } from '../shared/streams.ts'
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
 *
 * Every read is bounded in bytes and time, on both ends: a head must come within its timeout,
 * each body frame within `bodyIdleMs` of the last, each send must be taken (acknowledged)
 * within `sendIdleMs`, and a body past its cap (the server's per route, the client's
 * `maxBodyBytes`) is refused there. A refusal resets the stream; nothing waits on a stranger.
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
   * A body's next frame must arrive this soon after the previous one (both directions): a
   * stalled peer must not hold a handler, or a caller's read, open forever.
   */
  bodyIdleMs: 30_000,
  /** What we send must be taken (read and acknowledged) this soon: a peer that never reads must not hold our handler. */
  sendIdleMs: 30_000,
  /**
   * The request body a server reads unless the route allows more: JSON routes need far less
   * (they cap their own bodies); a CAR upload is allowed more, and its quota bounds it.
   */
  maxRequestBodyBytes: 1024 * 1024,
  /**
   * ...and must arrive whole this soon: frames that each come just within the idle limit must
   * not let a trickle hold a handler for hours. A route may lift it (a CAR upload, which needs
   * a session first, is bounded by its idle limit and its quota).
   */
  requestBodyMs: 60_000,
  /**
   * A new stream on an open connection normally opens in ~14 ms; one that takes this long
   * means the connection is dead but not yet noticed (a WebRTC peer that reloaded looks open
   * until ICE gives up, ~30 s): the connection is closed so the next dial makes a fresh one.
   */
  streamOpenTimeoutMs: 3_000
} as const

/** A framing failure; `reason` is stable (docs/API.md, "Refusals: bounds"). The stream is reset. */
export class HttpOverLibp2pError extends Error {
  static override name = 'HttpOverLibp2pError'
  override name = 'HttpOverLibp2pError'
  readonly reason: string
  constructor (message: string, reason = 'MALFORMED_FRAME') {
    super(message)
    this.reason = reason
  }
}

/** The connection was found dead before anything was sent: the request may be retried on a new one. */
export class DeadConnectionError extends HttpOverLibp2pError {
  static override name = 'DeadConnectionError'
  override name = 'DeadConnectionError'
  constructor (message: string) { super(message, 'DEAD_CONNECTION') }
}

/** Limits a server may tighten (tests) or loosen; the rest of HTTP_LIMITS are part of the protocol. */
export type ServerLimits = Record<'headTimeoutMs' | 'serverIdleMs' | 'bodyIdleMs' | 'sendIdleMs' | 'maxDrainBytes' | 'requestBodyMs', number>

export interface ServeOptions {
  limits?: Partial<ServerLimits>
  /** The request body a route may send, in bytes (default HTTP_LIMITS.maxRequestBodyBytes); past it the body errors with BODY_TOO_LARGE. */
  maxRequestBodyBytes?: (method: string, path: string) => number
  /** The time a route's request body may take in all (default `requestBodyMs`; undefined: only the idle limit per frame); past it, BODY_TIMEOUT. */
  requestBodyMs?: (method: string, path: string) => number | undefined
}

export interface FetchOptions {
  /** Covers the whole exchange, the response body included (default: 30 s). */
  signal?: AbortSignal
  /** The response body past this errors with BODY_TOO_LARGE and the stream is reset. */
  maxBodyBytes?: number
  /** Each response body frame must follow the previous one this soon (default HTTP_LIMITS.bodyIdleMs). */
  bodyIdleMs?: number
}

/** Runs `op` with a signal that aborts with `timeout()` after `ms`; the timer goes as soon as `op` settles. */
async function within<T> (ms: number, timeout: () => Error, op: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const deadline = new AbortController()
  const timer = setTimeout(() => { deadline.abort(timeout()) }, ms)
  try {
    return await op(deadline.signal)
  } finally {
    clearTimeout(timer)
  }
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
  /** Each body frame must arrive, and each send be taken, within these (none: the caller's signal alone). */
  readonly idle: { readMs?: number, sendMs?: number }
  #stash: Frame | undefined
  #sent = 0
  #acked = 0
  #consumed = 0
  #ackSent = 0

  readonly #stream: Stream

  constructor (stream: Stream, idle: { readMs?: number, sendMs?: number } = {}) {
    this.lp = lpStream(stream, { maxDataLength: Math.max(HTTP_LIMITS.maxHeadBytes, HTTP_LIMITS.frameBytes) + 1 })
    this.idle = idle
    this.#stream = stream
  }

  /**
   * Runs `op`; if it takes longer than `ms`, the stream is reset with `timeout()` (and `op`
   * fails with it). A timer per frame, cleared at once: cheaper than a combined signal per frame.
   */
  async #guard<T> (ms: number | undefined, timeout: () => Error, op: () => Promise<T>): Promise<T> {
    if (ms == null) return op()
    let fired: Error | undefined
    const timer = setTimeout(() => { fired = timeout(); this.#stream.abort(fired) }, ms)
    try {
      return await op()
    } catch (err) {
      throw fired ?? err
    } finally {
      clearTimeout(timer)
    }
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

  /** The next frame that is not an acknowledgement (those are counted on the way); `signal` alone bounds the wait. */
  async read (signal?: AbortSignal): Promise<Frame> {
    for (;;) {
      const f = await this.#readAny(signal)
      if (f.type !== ACK) return f
      this.#credit(f)
    }
  }

  /** The next body frame: within the read idle limit as well as `signal`. */
  async readBodyFrame (what: string, signal?: AbortSignal): Promise<Frame> {
    return this.#guard(this.idle.readMs, () => new BodyTimeoutError(what), async () => this.read(signal))
  }

  /** Sends frames; the peer must take them within the send idle limit. */
  async writeV (frames: Uint8ArrayList[], signal?: AbortSignal): Promise<void> {
    await this.#guard(this.idle.sendMs, () => new HttpOverLibp2pError(`the peer took nothing for ${this.idle.sendMs} ms`, 'SEND_TIMEOUT'), async () => { await this.lp.writeV(frames, { signal }) })
  }

  /**
   * Waits until `bytes` more may be sent. False if the peer sent something else meanwhile
   * (a server answering before reading the whole body): the caller stops sending.
   * A peer that acknowledges nothing within the send idle limit fails it (SEND_TIMEOUT).
   */
  async waitCredit (bytes: number, signal?: AbortSignal): Promise<boolean> {
    while (this.#sent + bytes - this.#acked > HTTP_LIMITS.windowBytes) {
      const f = await this.#guard(this.idle.sendMs, () => new HttpOverLibp2pError(`the peer acknowledged nothing for ${this.idle.sendMs} ms`, 'SEND_TIMEOUT'), async () => this.#readAny(signal))
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
    await this.writeV([frame(ACK, n)])
  }
}

/**
 * A body arriving as frames; knows whether its end frame was read, so the stream can be reused.
 * Bounded: past `max` bytes it fails with BODY_TOO_LARGE, a frame later than the read idle
 * limit (or `signal`) fails it with BODY_TIMEOUT.
 */
class IncomingBody {
  ended = false
  /** Why the body could not be read to its end, if it failed. */
  failed: Error | undefined
  readonly #io: Framed
  readonly #max: number
  readonly #what: string
  #size = 0
  constructor (io: Framed, opts: { max?: number, what: string }) {
    this.#io = io
    this.#max = opts.max ?? Number.POSITIVE_INFINITY
    this.#what = opts.what
  }

  async next (signal?: AbortSignal): Promise<Uint8Array | null> {
    if (this.failed != null) throw this.failed
    if (this.ended) return null
    try {
      const f = await this.#io.readBodyFrame(this.#what, signal)
      if (f.type === END) { this.ended = true; return null }
      if (f.type !== DATA) throw new HttpOverLibp2pError('unexpected frame in a body', 'UNEXPECTED_FRAME')
      this.#size += f.data.byteLength
      if (this.#size > this.#max) throw new BodyTooLargeError(this.#max, this.#what)
      await this.#io.consumed(f.data.byteLength)
      return f.data
    } catch (err) {
      this.failed = signal?.aborted === true && !(err instanceof BodyTooLargeError) ? new BodyTimeoutError(this.#what) : err as Error
      throw this.failed
    }
  }

  /**
   * The body as a stream. `onEnd` runs when the end frame was read (the stream can carry the
   * next message); a consumer that cancels early gets the rest drained (bounded) first, and
   * `onBroken` runs if that fails, so a cancelled body never leaks its libp2p stream. When
   * `signal` fires, or the consumer cancels because of a bound (BODY_TOO_LARGE, BODY_TIMEOUT),
   * nothing more is read: `onBroken` runs at once.
   */
  stream (opts: { onEnd?: () => void, onBroken?: () => void, signal?: AbortSignal } = {}): ReadableStream<Uint8Array> {
    const { onEnd, onBroken, signal } = opts
    let done = false
    const finish = (ok: boolean): void => {
      if (done) return
      done = true
      signal?.removeEventListener('abort', onAbort)
      if (ok) onEnd?.()
      else onBroken?.()
    }
    // A caller that stopped reading still has its deadline: the stream is freed when it passes.
    const onAbort = (): void => { if (this.ended) return; this.failed ??= new BodyTimeoutError(this.#what); finish(false) }
    if (signal?.aborted === true) onAbort()
    else signal?.addEventListener('abort', onAbort, { once: true })
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        try {
          const chunk = await this.next(signal)
          if (chunk == null) { controller.close(); finish(true) } else controller.enqueue(chunk)
        } catch (err) {
          controller.error(err)
          finish(false)
        }
      },
      cancel: async (reason) => {
        if (done) return
        if (reason instanceof BodyTooLargeError || reason instanceof BodyTimeoutError || this.failed != null) { finish(false); return }
        try {
          finish(await this.drain(HTTP_LIMITS.maxDrainBytes, signal))
        } catch {
          finish(false)
        }
      }
    }, { highWaterMark: 0 })
  }

  /** Reads what is left, up to `max` bytes; false if there was more. */
  async drain (max: number, signal?: AbortSignal): Promise<boolean> {
    let n = 0
    for (let chunk = await this.next(signal); chunk != null; chunk = await this.next(signal)) {
      n += chunk.byteLength
      if (n > max) return false
    }
    return true
  }
}

const WOULD_WAIT = Symbol('would wait')

/** `p`, unless `signal` fires first (a producer that waits forever must not hold us once the stream is gone). */
async function untilAborted<T> (p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (signal == null) return p
  signal.throwIfAborted()
  let onAbort!: () => void
  const aborted = new Promise<never>((_resolve, reject) => { onAbort = () => { reject(signal.reason) }; signal.addEventListener('abort', onAbort, { once: true }) })
  try {
    return await Promise.race([p, aborted])
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

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
    if (pending.length > 0) await io.writeV(pending, signal)
    pending = []
    pendingBytes = 0
  }
  let stopped = false
  if (body != null) {
    const reader = body.getReader()
    let complete = false
    try {
      for (let next = reader.read(); ; next = reader.read()) {
        // An already-queued chunk wins the race; a pending read loses to the resolved marker.
        let result = await Promise.race([next, Promise.resolve(WOULD_WAIT)])
        if (result === WOULD_WAIT) {
          await flush()
          result = await untilAborted(next, signal)
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
      complete = !stopped
    } finally {
      // Stopped or failed midway: the producer (a DAG walk, a forwarded search) must end too.
      if (!complete) await reader.cancel().catch(() => {})
      reader.releaseLock()
    }
  }
  pending.push(frame(END))
  if (!stopped) return await flush()
  // The peer answered early and may already have closed its side: the end frame is a courtesy.
  await flush().catch(() => {})
}

function parseHead<T> (bytes: Uint8Array, check: (v: any) => boolean): T {
  if (bytes.byteLength > HTTP_LIMITS.maxHeadBytes) throw new HttpOverLibp2pError('head too large', 'HEAD_TOO_LARGE')
  let value: unknown
  try { value = JSON.parse(dec.decode(bytes)) } catch { throw new HttpOverLibp2pError('malformed head', 'MALFORMED_HEAD') }
  if (!check(value)) throw new HttpOverLibp2pError('malformed head', 'MALFORMED_HEAD')
  return value as T
}

const isHeaders = (h: unknown): boolean => Array.isArray(h) && h.length <= 128 && h.every(p => Array.isArray(p) && p.length === 2 && typeof p[0] === 'string' && typeof p[1] === 'string')
const hasNoBody = (method: string): boolean => method === 'GET' || method === 'HEAD'

interface ServeContext {
  handler: Libp2pHttpHandler
  info: ServeInfo
  limits: ServerLimits
  maxBody: (method: string, path: string) => number
  bodyMs: (method: string, path: string) => number | undefined
  gone: AbortSignal
}

/** Answers one request on a stream. True if the stream can carry another. */
async function serveOne (io: Framed, first: boolean, ctx: ServeContext): Promise<boolean> {
  const { limits } = ctx
  let headFrame: Frame
  const waited = first ? limits.headTimeoutMs : limits.serverIdleMs
  try {
    headFrame = await within(waited, () => new HttpOverLibp2pError(`no request head within ${waited} ms`, 'HEAD_TIMEOUT'), async s => io.read(s))
  } catch (err) {
    // Closed by the client between requests, or left idle: the stream simply ends.
    if (!first || (err as Error).name === 'UnexpectedEOFError') return false
    throw err
  }
  if (headFrame.type !== HEAD) throw new HttpOverLibp2pError('expected a request head', 'UNEXPECTED_FRAME')
  const head = parseHead<RequestHead>(headFrame.data, v => typeof v?.m === 'string' && /^[A-Z]{1,10}$/.test(v.m) && typeof v.u === 'string' && v.u.startsWith('/') && isHeaders(v.h))
  const url = new URL(head.u, 'http://libp2p.invalid')
  const body = new IncomingBody(io, { max: hasNoBody(head.m) ? 0 : ctx.maxBody(head.m, url.pathname), what: 'the request body' })
  const bodyMs = hasNoBody(head.m) ? limits.bodyIdleMs : ctx.bodyMs(head.m, url.pathname)
  const deadline = bodyMs != null ? AbortSignal.timeout(bodyMs) : undefined
  // The body's real size is what arrives: a claimed length must not let a body limit trust it.
  const headers = head.h.filter(([k]) => !/^(content-length|transfer-encoding)$/i.test(k))
  const request = hasNoBody(head.m) ? new Request(url, { method: head.m, headers }) : streamingRequest(url, { method: head.m, headers }, body.stream({ signal: deadline }))
  if (hasNoBody(head.m)) await body.drain(0, deadline)
  let response: Response
  try {
    response = await ctx.handler(request, ctx.info)
  } catch (err) {
    console.error('libp2p http handler failed', err)
    response = Response.json({ error: { reason: 'INTERNAL', details: 'the handler failed' } }, { status: 500 })
  }
  // A stalled or broken body: nobody is there to answer.
  if (body.failed != null && !(body.failed instanceof BodyTooLargeError)) { await response.body?.cancel().catch(() => {}); throw body.failed }
  // Whatever the handler left unread must be consumed before the next head can be read; a
  // body past its cap is not read any further.
  const drainBy = AbortSignal.timeout(limits.bodyIdleMs)
  const reusable = body.ended || (body.failed == null && await body.drain(limits.maxDrainBytes, deadline != null ? AbortSignal.any([deadline, drainBy]) : drainBy).catch(() => false))
  if (body.failed != null && !(body.failed instanceof BodyTooLargeError)) { await response.body?.cancel().catch(() => {}); throw body.failed }
  const out: ResponseHead = { s: response.status, h: [...response.headers], ...(reusable ? {} : { c: 1 as const }) }
  await writeMessage(io, enc.encode(JSON.stringify(out)), head.m === 'HEAD' ? null : response.body, ctx.gone)
  return reusable
}

/**
 * Ends a stream we are done with: our side closes (what we sent must be taken within the send
 * limit), then the peer has `graceMs` to close its side; a peer that does neither is reset, so
 * a stranger cannot keep a finished stream, and our handler's slot, open.
 */
async function endStream (stream: Stream, sendMs: number, graceMs: number): Promise<void> {
  try {
    await stream.close({ signal: AbortSignal.timeout(sendMs) })
  } catch (err) {
    stream.abort(err as Error)
    return
  }
  if (stream.status !== 'open') return
  await new Promise<void>(resolve => {
    const timer = setTimeout(() => { stream.removeEventListener('close', done); stream.abort(new HttpOverLibp2pError(`the peer kept the stream open ${graceMs} ms after the last answer`, 'STREAM_LINGERED')); resolve() }, graceMs)
    const done = (): void => { clearTimeout(timer); resolve() }
    stream.addEventListener('close', done, { once: true })
  })
}

/** Serves `handler` to remote peers. Returns a function that stops serving. */
export async function serveHttp (libp2p: Libp2p, handler: Libp2pHttpHandler, options: ServeOptions = {}): Promise<() => Promise<void>> {
  const limits: ServerLimits = { ...HTTP_LIMITS, ...options.limits }
  const maxBody = options.maxRequestBodyBytes ?? (() => HTTP_LIMITS.maxRequestBodyBytes)
  const bodyMs = options.requestBodyMs ?? (() => limits.requestBodyMs)
  await libp2p.handle(HTTP_PROTOCOL, async (stream, connection) => {
    const io = new Framed(stream, { readMs: limits.bodyIdleMs, sendMs: limits.sendIdleMs })
    // Fires when the stream closes or is reset: whatever we still wait on for it stops.
    const gone = new AbortController()
    stream.addEventListener('close', () => { gone.abort(new HttpOverLibp2pError('the stream closed', 'STREAM_CLOSED')) }, { once: true })
    const ctx: ServeContext = { handler, info: { remotePeer: connection.remotePeer.toString(), connection }, limits, maxBody, bodyMs, gone: gone.signal }
    try {
      for (let first = true; await serveOne(io, first, ctx); first = false) { /* next request on this stream */ }
      await endStream(stream, limits.sendIdleMs, limits.bodyIdleMs)
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
    throw new DeadConnectionError(`no stream opened on the connection to ${connection.remotePeer.toString()} (${opening.aborted ? `${HTTP_LIMITS.streamOpenTimeoutMs} ms` : causeOf(err)}); it is closed`)
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

/**
 * fetch() to a remote peer's HTTP handler. The URL's origin is ignored; path and query are sent.
 * `signal` covers the response body too: when it fires, the body errors with BODY_TIMEOUT and
 * the stream is reset, whether or not the caller is reading.
 */
export async function fetchOverLibp2p (libp2p: Libp2p, target: PeerId | Multiaddr | Multiaddr[] | Connection, request: Request, options: FetchOptions = {}): Promise<Response> {
  const signal = options.signal ?? AbortSignal.timeout(30_000)
  const connection = 'newStream' in target ? target : await directConnection(libp2p, target, signal)
  const reused = takeIdle(connection)
  const stream = reused?.stream ?? await openStream(connection, signal, Date.now() - connection.timeline.open > HTTP_LIMITS.streamOpenTimeoutMs)
  const io = reused?.io ?? new Framed(stream, { readMs: options.bodyIdleMs ?? HTTP_LIMITS.bodyIdleMs, sendMs: HTTP_LIMITS.sendIdleMs })
  try {
    const url = new URL(request.url)
    const head: RequestHead = { m: request.method, u: url.pathname + url.search, h: [...request.headers] }
    await writeMessage(io, enc.encode(JSON.stringify(head)), hasNoBody(request.method) ? null : bodyOf(request), signal)
    const headFrame = await io.read(signal)
    if (headFrame.type !== HEAD) throw new HttpOverLibp2pError('expected a response head', 'UNEXPECTED_FRAME')
    const resHead = parseHead<ResponseHead>(headFrame.data, v => Number.isInteger(v?.s) && v.s >= 200 && v.s <= 599 && isHeaders(v.h))
    const body = new IncomingBody(io, { max: options.maxBodyBytes, what: `the answer of ${connection.remotePeer.toString()}` })
    const release = (): void => {
      if (resHead.c === 1) stream.close().catch(() => {})
      else putIdle(connection, { stream, io, since: 0 })
    }
    const broken = (): void => { stream.abort(body.failed ?? new HttpOverLibp2pError('response body abandoned', 'BODY_ABANDONED')) }
    if ([204, 205, 304].includes(resHead.s) || request.method === 'HEAD') {
      await body.drain(0, signal)
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
