import { createServer } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'

/**
 * What every HTTP server we run (the static app server, the LAN setup page, the Node cafe's
 * API and owner ports) puts between a stranger's bytes and its handler:
 * - a request whose target does not parse or decode is answered 400 `BAD_URL`, and a handler
 *   that throws, synchronously or later, 500 `INTERNAL` — never an exception that ends the
 *   process;
 * - a connection must send its first head in time and may not sit silent while a request is
 *   open; connections are capped per address and in all (503 `TOO_MANY_CONNECTIONS`);
 * - a connection whose request body the handler did not read is closed after the answer, so
 *   a body trickled afterwards holds nothing.
 */

export const HTTP_GUARD_LIMITS = {
  /** Node refuses larger heads itself (431); kept small, as the libp2p carrier's head frame is. */
  maxHeaderBytes: 16 * 1024,
  /** A request's head must arrive within this, and a new connection's first head too (a silent client is closed). */
  headersTimeoutMs: 10_000,
  /** How often Node checks heads and whole requests against their timeouts. */
  checkEveryMs: 1_000,
  /** A connection with no request in flight is closed after this. */
  keepAliveTimeoutMs: 5_000,
  /** No byte either way for this long while a request is open (a reader that stopped reading, a stalled body): closed. */
  idleMs: 60_000,
  /** The whole request, head and body, must arrive within this (0: no limit; the Node cafe bounds bodies per route). */
  requestTimeoutMs: 30_000,
  /** Open connections from one address; loopback is exempt (this machine, or a TLS proxy in front). */
  connectionsPerAddress: 64,
  /** Open connections in all. */
  connections: 512,
  /** After answering a request whose body was not read, the rest of the body is read and dropped for at most this, then the connection is closed. */
  lingerMs: 2_000
}

export interface HttpGuardLimits {
  maxHeaderBytes: number
  headersTimeoutMs: number
  checkEveryMs: number
  keepAliveTimeoutMs: number
  idleMs: number
  requestTimeoutMs: number
  connectionsPerAddress: number
  connections: number
  lingerMs: number
  /** Addresses the per-address cap does not apply to (default: loopback). */
  exempt: (address: string) => boolean
}

/** A request's target, parsed: `path` is the decoded pathname (no NUL), `url` keeps the query. */
export interface RequestTarget { url: URL, path: string }

export type GuardedHandler = (req: IncomingMessage, res: ServerResponse, target: RequestTarget) => void | Promise<void>

/** A refusal in the API's error shape; once an answer has started, the connection is dropped instead. */
export function refuse (res: ServerResponse, status: number, reason: string, details: string): void {
  if (res.headersSent) { res.destroy(); return }
  const body = JSON.stringify({ error: { reason, details } })
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': String(Buffer.byteLength(body)) })
  res.end(body)
}

/**
 * The target of a request in origin form (`/path?query`) or absolute form (`http://host/path`),
 * or undefined when it is neither, does not parse, or its path does not percent-decode. A target
 * starting `//` is refused too: URL parsers read it as another host (`//[` as a broken one).
 */
export function requestTarget (raw: string | undefined): RequestTarget | undefined {
  if (raw == null || raw === '') return undefined
  let url: URL
  try {
    if (raw.startsWith('//')) return undefined
    if (raw.startsWith('/')) url = new URL(`http://origin.invalid${raw}`)
    else if (/^https?:\/\//i.test(raw)) url = new URL(raw)
    else return undefined
  } catch {
    return undefined
  }
  let path: string
  try { path = decodeURIComponent(url.pathname) } catch { return undefined }
  if (path.includes('\0')) return undefined
  return { url, path }
}

const isLoopback = (address: string): boolean => /^(127\.|::1$|::ffff:127\.)/.test(address)

/** A request listener that never lets a malformed target or a handler's failure escape, and closes connections with unread bodies. */
export function guardedListener (handler: GuardedHandler, limits: Pick<HttpGuardLimits, 'idleMs' | 'lingerMs'> = HTTP_GUARD_LIMITS): RequestListener {
  const failed = (res: ServerResponse, err: unknown): void => {
    refuse(res, 500, 'INTERNAL', err instanceof Error ? err.message : String(err))
  }
  return (req, res) => {
    const socket = req.socket
    socket.setTimeout(limits.idleMs)
    // Answered with the body unread (refused early, or a GET with a body): nothing more is
    // wanted from this connection. It closes once the rest is dropped or after a short linger,
    // so the caller still reads the answer (an immediate reset could discard it).
    res.once('finish', () => {
      if (req.complete || socket.destroyed) return
      socket.end()
      setTimeout(() => { socket.destroy() }, limits.lingerMs).unref()
    })
    const target = requestTarget(req.url)
    if (target == null) return refuse(res, 400, 'BAD_URL', 'the request target is not a path that parses and percent-decodes')
    try {
      const pending = handler(req, res, target)
      if (pending != null) pending.catch(err => { failed(res, err) })
    } catch (err) {
      failed(res, err)
    }
  }
}

/** Per-address and total caps on open connections, and the first head's deadline on each. */
function guardConnections (server: Server, limits: HttpGuardLimits, tls: boolean): void {
  const open = new Map<string, number>()
  let total = 0
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? ''
    const mine = open.get(address) ?? 0
    if (total >= limits.connections || (mine >= limits.connectionsPerAddress && !limits.exempt(address))) {
      // Plain HTTP can say why; under TLS no handshake has happened, so it just closes.
      if (tls) { socket.destroy(); return }
      const body = JSON.stringify({ error: { reason: 'TOO_MANY_CONNECTIONS', details: total >= limits.connections ? 'the server holds as many connections as it takes' : 'this address holds as many connections as it may' } })
      socket.end(`HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\nretry-after: 5\r\n\r\n${body}`)
      setTimeout(() => { socket.destroy() }, limits.lingerMs).unref()
      return
    }
    open.set(address, mine + 1)
    total++
    socket.once('close', () => {
      total--
      const n = (open.get(address) ?? 1) - 1
      if (n === 0) open.delete(address)
      else open.set(address, n)
    })
    // A silent connection starts no request, so no head timeout covers it: this does. Each
    // request sets the idle limit instead (guardedListener); Node sets keep-alive's between requests.
    socket.setTimeout(limits.headersTimeoutMs)
    socket.once('timeout', () => { socket.destroy() })
  })
}

/** An HTTP (or, with `tls`, HTTPS) server behind every guard above. */
export function createGuardedServer (handler: GuardedHandler, opts: { tls?: { cert: string, key: string }, limits?: Partial<HttpGuardLimits> } = {}): Server {
  const limits: HttpGuardLimits = { ...HTTP_GUARD_LIMITS, exempt: isLoopback, ...opts.limits }
  const options = { maxHeaderSize: limits.maxHeaderBytes, connectionsCheckingInterval: limits.checkEveryMs, requestTimeout: limits.requestTimeoutMs, headersTimeout: limits.headersTimeoutMs, keepAliveTimeout: limits.keepAliveTimeoutMs }
  const listener = guardedListener(handler, limits)
  const server = opts.tls != null ? createHttpsServer({ ...options, cert: opts.tls.cert, key: opts.tls.key }, listener) : createServer(options, listener)
  server.keepAliveTimeout = limits.keepAliveTimeoutMs
  guardConnections(server as Server, limits, opts.tls != null)
  return server as Server
}
