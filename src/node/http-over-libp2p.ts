import { lpStream } from '@libp2p/utils'
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * fetch() over a libp2p stream: one request and one response per stream, framed with
 * varint length prefixes. We use our own framing rather than @libp2p/http 2.0.6 because
 * its client drops query strings, its server ignores chunked request bodies and it has no
 * backpressure (docs/http-over-libp2p.md); here bodies stream both ways with backpressure.
 *
 *   request:  head {m, u, h}  then body frames  then an empty frame
 *   response: head {s, h}     then body frames  then an empty frame
 */
export const HTTP_PROTOCOL = '/lightcafe/http/1.0.0'

export const HTTP_LIMITS = {
  /** Method + path + headers: 16 KiB is far above any real request and bounds parsing. */
  maxHeadBytes: 16 * 1024,
  /** Bodies are cut into frames of at most this, so a frame never holds much memory. */
  frameBytes: 256 * 1024,
  /** A stranger can open at most this many concurrent requests per connection. */
  maxInboundStreams: 64,
  /** A request must arrive (head) within this; handlers bound their own work. */
  headTimeoutMs: 10_000
} as const

export class HttpOverLibp2pError extends Error {
  static override name = 'HttpOverLibp2pError'
  override name = 'HttpOverLibp2pError'
}

interface RequestHead { m: string, u: string, h: Array<[string, string]> }
interface ResponseHead { s: number, h: Array<[string, string]> }

export interface ServeInfo {
  /** Authenticated by Noise: the caller really is this peer. */
  remotePeer: string
  connection: Connection
}

export type Libp2pHttpHandler = (request: Request, info: ServeInfo) => Promise<Response>

const enc = new TextEncoder()
const dec = new TextDecoder()

function frames (lp: ReturnType<typeof lpStream<Stream>>, signal?: AbortSignal): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull (controller) {
      try {
        const frame = await lp.read({ signal })
        if (frame.byteLength === 0) controller.close()
        else controller.enqueue(frame.subarray())
      } catch (err) {
        controller.error(err)
      }
    }
  }, { highWaterMark: 1 })
}

async function writeBody (lp: ReturnType<typeof lpStream<Stream>>, body: ReadableStream<Uint8Array> | null, signal?: AbortSignal): Promise<void> {
  if (body != null) {
    const reader = body.getReader()
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        for (let i = 0; i < value.byteLength; i += HTTP_LIMITS.frameBytes) {
          await lp.write(value.subarray(i, i + HTTP_LIMITS.frameBytes), { signal })
        }
      }
    } finally {
      reader.releaseLock()
    }
  }
  await lp.write(new Uint8Array(0), { signal })
}

function parseHead<T> (bytes: Uint8Array, check: (v: any) => boolean): T {
  let value: unknown
  try { value = JSON.parse(dec.decode(bytes)) } catch { throw new HttpOverLibp2pError('malformed head') }
  if (!check(value)) throw new HttpOverLibp2pError('malformed head')
  return value as T
}

const isHeaders = (h: unknown): boolean => Array.isArray(h) && h.length <= 128 && h.every(p => Array.isArray(p) && p.length === 2 && typeof p[0] === 'string' && typeof p[1] === 'string')

/** Serves `handler` to remote peers. Returns a function that stops serving. */
export async function serveHttp (libp2p: Libp2p, handler: Libp2pHttpHandler): Promise<() => Promise<void>> {
  await libp2p.handle(HTTP_PROTOCOL, async (stream, connection) => {
    const lp = lpStream(stream, { maxDataLength: Math.max(HTTP_LIMITS.maxHeadBytes, HTTP_LIMITS.frameBytes) })
    try {
      const headBytes = await lp.read({ signal: AbortSignal.timeout(HTTP_LIMITS.headTimeoutMs) })
      if (headBytes.byteLength > HTTP_LIMITS.maxHeadBytes) throw new HttpOverLibp2pError('head too large')
      const head = parseHead<RequestHead>(headBytes.subarray(), v => typeof v?.m === 'string' && /^[A-Z]{1,10}$/.test(v.m) && typeof v.u === 'string' && v.u.startsWith('/') && isHeaders(v.h))
      const hasBody = head.m !== 'GET' && head.m !== 'HEAD'
      // The body's real size is what arrives: a claimed length must not let a body limit trust it.
      const headers = head.h.filter(([k]) => !/^(content-length|transfer-encoding)$/i.test(k))
      const request = new Request(new URL(head.u, 'http://libp2p.invalid'), {
        method: head.m,
        headers,
        ...(hasBody ? { body: frames(lp), duplex: 'half' } : {})
      } as RequestInit)
      if (!hasBody) await lp.read() // the empty end-of-body frame
      let response: Response
      try {
        response = await handler(request, { remotePeer: connection.remotePeer.toString(), connection })
      } catch (err) {
        response = Response.json({ error: { reason: 'INTERNAL', details: 'the handler failed' } }, { status: 500 })
        console.error('libp2p http handler failed', err)
      }
      const out: ResponseHead = { s: response.status, h: [...response.headers] }
      await lp.write(enc.encode(JSON.stringify(out)))
      await writeBody(lp, head.m === 'HEAD' ? null : response.body)
      await stream.close()
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

/** fetch() to a remote peer's HTTP handler. The URL's origin is ignored; path and query are sent. */
export async function fetchOverLibp2p (libp2p: Libp2p, target: PeerId | Multiaddr | Multiaddr[] | Connection, request: Request, options: { signal?: AbortSignal } = {}): Promise<Response> {
  const signal = options.signal ?? AbortSignal.timeout(30_000)
  const connection = 'newStream' in target ? target : await directConnection(libp2p, target, signal)
  const stream = await connection.newStream(HTTP_PROTOCOL, { signal })
  const lp = lpStream(stream, { maxDataLength: Math.max(HTTP_LIMITS.maxHeadBytes, HTTP_LIMITS.frameBytes) })
  try {
    const url = new URL(request.url)
    const head: RequestHead = { m: request.method, u: url.pathname + url.search, h: [...request.headers] }
    await lp.write(enc.encode(JSON.stringify(head)), { signal })
    await writeBody(lp, request.method === 'GET' || request.method === 'HEAD' ? null : request.body, signal)
    const resHead = parseHead<ResponseHead>((await lp.read({ signal })).subarray(), v => Number.isInteger(v?.s) && v.s >= 200 && v.s <= 599 && isHeaders(v.h))
    const nullBody = [204, 205, 304].includes(resHead.s) || request.method === 'HEAD'
    if (nullBody) {
      await lp.read({ signal })
      await stream.close()
      return new Response(null, { status: resHead.s, headers: resHead.h })
    }
    // Close our side once the caller has read the body to the end. (The frame reader is made
    // only here: its first pull starts at once and would swallow the end frame of a null body.)
    const closing = frames(lp).pipeThrough(new TransformStream<Uint8Array, Uint8Array>({
      flush: async () => { await stream.close().catch(() => {}) }
    }))
    return new Response(closing, { status: resHead.s, headers: resHead.h })
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}
