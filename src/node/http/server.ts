import { BodyTooLargeError } from '../../shared/streams.ts'
import { streamingRequest } from '../../shared/request-body.ts'
import { refusalResponse } from '../../shared/errors.ts'
import { Framed, IncomingBody, writeMessage } from './framing.ts'
import { FRAME, HTTP_LIMITS, HttpOverLibp2pError, encodeHead, hasNoBody, parseRequestHead } from './protocol.ts'
import type { Frame } from './framing.ts'
import type { ResponseHead } from './protocol.ts'
import type { Connection, Stream } from '@libp2p/interface'

/** The serving end: one handler answers each request on a stream, then the next on the same stream. */

/** Limits a server may tighten (tests) or loosen; the rest of HTTP_LIMITS are part of the protocol. */
export type ServerLimits = Record<'headTimeoutMs' | 'serverIdleMs' | 'bodyIdleMs' | 'sendIdleMs' | 'maxDrainBytes' | 'requestBodyMs', number>

export interface ServeOptions {
  /** The request body a route may send, in bytes (default HTTP_LIMITS.maxRequestBodyBytes); past it the body errors with BODY_TOO_LARGE. */
  maxRequestBodyBytes?: (method: string, path: string) => number
  /** The time a route's request body may take in all (default `requestBodyMs`; undefined: only the idle limit per frame); past it, BODY_TIMEOUT. */
  requestBodyMs?: (method: string, path: string) => number | undefined
}

export interface ServeInfo {
  /** Authenticated by Noise: the caller really is this peer. */
  remotePeer: string
  connection: Connection
}

export type Libp2pHttpHandler = (request: Request, info: ServeInfo) => Promise<Response>

/** What answering needs: the handler with its routes' bounds, and the server's limits. */
export interface Served {
  handler: Libp2pHttpHandler
  limits: ServerLimits
  maxBody: (method: string, path: string) => number
  bodyMs: (method: string, path: string) => number | undefined
}

export function served (handler: Libp2pHttpHandler, limits: ServerLimits, options: ServeOptions = {}): Served {
  return {
    handler,
    limits,
    maxBody: options.maxRequestBodyBytes ?? (() => HTTP_LIMITS.maxRequestBodyBytes),
    bodyMs: options.requestBodyMs ?? (() => limits.requestBodyMs)
  }
}

interface StreamContext extends Served {
  info: ServeInfo
  /** Fires when the stream closes or is reset. */
  gone: AbortSignal
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

/** Answers one request on a stream. True if the stream can carry another. */
async function serveOne (io: Framed, first: boolean, ctx: StreamContext): Promise<boolean> {
  const { limits } = ctx
  let headFrame: Frame
  const waited = first ? limits.headTimeoutMs : limits.serverIdleMs
  try {
    headFrame = await within(waited, () => new HttpOverLibp2pError('HEAD_TIMEOUT', `no request head within ${waited} ms`), async signal => io.read({ signal }))
  } catch (err) {
    // Closed by the client between requests, or left idle: the stream simply ends.
    if (!first || (err as Error).name === 'UnexpectedEOFError') return false
    throw err
  }
  if (headFrame.type !== FRAME.HEAD) throw new HttpOverLibp2pError('UNEXPECTED_FRAME', 'expected a request head')
  const head = parseRequestHead(headFrame.data)
  const url = new URL(head.u, 'http://libp2p.invalid')
  const body = new IncomingBody(io, { max: hasNoBody(head.m) ? 0 : ctx.maxBody(head.m, url.pathname), what: 'the request body' })
  const bodyMs = hasNoBody(head.m) ? limits.bodyIdleMs : ctx.bodyMs(head.m, url.pathname)
  const deadline = bodyMs != null ? AbortSignal.timeout(bodyMs) : undefined
  // The body's real size is what arrives: a claimed length must not let a body limit trust it.
  const headers = head.h.filter(([k]) => !/^(content-length|transfer-encoding)$/i.test(k))
  const request = hasNoBody(head.m) ? new Request(url, { method: head.m, headers }) : streamingRequest(url, { method: head.m, headers }, body.stream({ signal: deadline }))
  if (hasNoBody(head.m)) await body.drain(0, { signal: deadline })
  let response: Response
  try {
    response = await ctx.handler(request, ctx.info)
  } catch (err) {
    console.error('libp2p http handler failed', err)
    response = refusalResponse('INTERNAL', 'the handler failed')
  }
  // A stalled or broken body: nobody is there to answer.
  if (body.failed != null && !(body.failed instanceof BodyTooLargeError)) { await response.body?.cancel().catch(() => {}); throw body.failed }
  // Whatever the handler left unread must be consumed before the next head can be read; a
  // body past its cap is not read any further.
  const drainBy = AbortSignal.timeout(limits.bodyIdleMs)
  const reusable = body.ended || (body.failed == null && await body.drain(limits.maxDrainBytes, { signal: deadline != null ? AbortSignal.any([deadline, drainBy]) : drainBy }).catch(() => false))
  if (body.failed != null && !(body.failed instanceof BodyTooLargeError)) { await response.body?.cancel().catch(() => {}); throw body.failed }
  const out: ResponseHead = { s: response.status, h: [...response.headers], ...(reusable ? {} : { c: 1 as const }) }
  await writeMessage(io, encodeHead(out), head.m === 'HEAD' ? null : response.body, { signal: ctx.gone })
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
    const timer = setTimeout(() => { stream.removeEventListener('close', done); stream.abort(new HttpOverLibp2pError('STREAM_LINGERED', `the peer kept the stream open ${graceMs} ms after the last answer`)); resolve() }, graceMs)
    const done = (): void => { clearTimeout(timer); resolve() }
    stream.addEventListener('close', done, { once: true })
  })
}

/** Answers the requests of one inbound stream, one after another, then ends it; any failure resets it. */
export async function serveStream (stream: Stream, connection: Connection, s: Served): Promise<void> {
  const { limits } = s
  const io = new Framed(stream, { readMs: limits.bodyIdleMs, sendMs: limits.sendIdleMs })
  // Fires when the stream closes or is reset: whatever we still wait on for it stops.
  const gone = new AbortController()
  stream.addEventListener('close', () => { gone.abort(new HttpOverLibp2pError('STREAM_CLOSED', 'the stream closed')) }, { once: true })
  const ctx: StreamContext = { ...s, info: { remotePeer: connection.remotePeer.toString(), connection }, gone: gone.signal }
  try {
    for (let first = true; await serveOne(io, first, ctx); first = false) { /* next request on this stream */ }
    await endStream(stream, limits.sendIdleMs, limits.bodyIdleMs)
  } catch (err) {
    stream.abort(err as Error)
  }
}
