import { LightcafeError } from '../../shared/errors.ts'
import type { Reason } from '../../shared/reasons.ts'

/**
 * HTTP over libp2p streams: the protocol id, its limits and its messages. We use our own
 * framing rather than @libp2p/http 2.0.6 because its client drops query strings, its server
 * ignores chunked request bodies and it has no backpressure (docs/ARCHITECTURE.md). Every
 * frame is varint-length-prefixed and starts with a type byte:
 *
 *   request:  H {m, u, h}  then D frames  then E      response: H {s, h, c?}  then D...  then E
 *   A <uint32>: the receiver of a body consumed that many more bytes (flow control)
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

/**
 * A framing failure; `reason` is stable (docs/API.md, "Refusals: bounds"). The stream is reset,
 * so no answer carries it: `status` says what a gateway in front would answer (502 a peer that
 * broke the protocol, 504 one that stalled).
 */
export class HttpOverLibp2pError extends LightcafeError {
  static override name = 'HttpOverLibp2pError'
  override name = 'HttpOverLibp2pError'
  constructor (reason: Reason, details: string, options?: ErrorOptions) { super(reason, details, options) }
}

/** Frame types: the first byte of every frame. */
export const FRAME = { HEAD: 0x48, DATA: 0x44, END: 0x45, ACK: 0x41 } as const

export interface RequestHead { m: string, u: string, h: Array<[string, string]> }
/** `c: 1`: the server closes the stream after this response (it could not consume the request body), so the client must not reuse it. */
export interface ResponseHead { s: number, h: Array<[string, string]>, c?: 1 }

const enc = new TextEncoder()
const dec = new TextDecoder()

export const encodeHead = (head: RequestHead | ResponseHead): Uint8Array => enc.encode(JSON.stringify(head))

function parseHead<T> (bytes: Uint8Array, check: (v: any) => boolean): T {
  if (bytes.byteLength > HTTP_LIMITS.maxHeadBytes) throw new HttpOverLibp2pError('HEAD_TOO_LARGE', 'head too large')
  let value: unknown
  try { value = JSON.parse(dec.decode(bytes)) } catch { throw new HttpOverLibp2pError('MALFORMED_HEAD', 'malformed head') }
  if (!check(value)) throw new HttpOverLibp2pError('MALFORMED_HEAD', 'malformed head')
  return value as T
}

const isHeaders = (h: unknown): boolean => Array.isArray(h) && h.length <= 128 && h.every(p => Array.isArray(p) && p.length === 2 && typeof p[0] === 'string' && typeof p[1] === 'string')

export const parseRequestHead = (bytes: Uint8Array): RequestHead => parseHead<RequestHead>(bytes, v => typeof v?.m === 'string' && /^[A-Z]{1,10}$/.test(v.m) && typeof v.u === 'string' && v.u.startsWith('/') && isHeaders(v.h))
export const parseResponseHead = (bytes: Uint8Array): ResponseHead => parseHead<ResponseHead>(bytes, v => Number.isInteger(v?.s) && v.s >= 200 && v.s <= 599 && isHeaders(v.h))

export const hasNoBody = (method: string): boolean => method === 'GET' || method === 'HEAD'
