import { createServer } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { sourceOf } from '../src/shared/source-address.ts'
import { statusOf } from '../src/shared/reasons.ts'
import type { Reason } from '../src/shared/reasons.ts'
import { clientAddress } from './client-address.ts'
import type { TrustedProxy } from './client-address.ts'

/**
 * What every HTTP server we run (the static app server, the LAN setup page, the Node cafe's
 * API and owner ports) puts between a stranger's bytes and its handler:
 * - a request whose target does not parse or decode is answered 400 `BAD_URL`, and a handler
 *   that throws, synchronously or later, 500 `INTERNAL` — never an exception that ends the
 *   process;
 * - a connection must send its first head in time and may not sit silent while a request is
 *   open; connections are capped per address and in all (503 `TOO_MANY_CONNECTIONS`); an
 *   "address" is an IPv4 address or an IPv6 /64 (sourceOf), and behind a trusted proxy the
 *   client it names (its requests in flight are capped per address instead);
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
  /** Open connections from one address (an IPv4 address, an IPv6 /64), or requests in flight from one behind a trusted proxy. */
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
  /** Addresses the per-address cap does not apply to (default: none; `npm start` exempts loopback: the host's own browser). */
  exempt: (address: string) => boolean
}

/** Every address the per-address cap applies to. */
const NONE_EXEMPT = (): boolean => false

/** Loopback, for servers whose only loopback user is this machine's own browser (`npm start`), never one a proxy on this machine fronts. */
export const isLoopback = (address: string): boolean => /^(127\.|::1$|::ffff:127\.)/.test(address)

/**
 * A request's target, parsed: `path` is the decoded pathname (no NUL), `url` keeps the query;
 * `from`: the client's address (the connection's, or the one a trusted proxy names).
 */
export interface RequestTarget { url: URL, path: string, from: string }

export type GuardedHandler = (req: IncomingMessage, res: ServerResponse, target: RequestTarget) => void | Promise<void>

/** A refusal in the API's error shape; once an answer has started, the connection is dropped instead. */
export function refuse (res: ServerResponse, reason: Reason, details: string): void {
  if (res.headersSent) { res.destroy(); return }
  const body = JSON.stringify({ error: { reason, details } })
  res.writeHead(statusOf(reason), { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': String(Buffer.byteLength(body)) })
  res.end(body)
}

/**
 * The target of a request in origin form (`/path?query`) or absolute form (`http://host/path`),
 * or undefined when it is neither, does not parse, or its path does not percent-decode. A target
 * starting `//` is refused too: URL parsers read it as another host (`//[` as a broken one).
 */
export function requestTarget (raw: string | undefined): Omit<RequestTarget, 'from'> | undefined {
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

/**
 * A request listener that never lets a malformed target or a handler's failure escape, closes
 * connections with unread bodies, and (behind a trusted proxy) caps each client's requests in flight.
 */
function guardedListener (handler: GuardedHandler, limits: HttpGuardLimits, proxy: TrustedProxy | undefined): RequestListener {
  const failed = (res: ServerResponse, err: unknown): void => {
    refuse(res, 'INTERNAL', err instanceof Error ? err.message : String(err))
  }
  // Behind a proxy a connection carries anyone's requests, so the cap counts requests per client.
  const inFlight = new Map<string, number>()
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
    const peer = socket.remoteAddress ?? ''
    const from = clientAddress(peer, req.headers, proxy)
    if (proxy?.trusts(peer) === true && !limits.exempt(from)) {
      const source = sourceOf(from)
      const n = inFlight.get(source) ?? 0
      if (n >= limits.connectionsPerAddress) return refuse(res, 'TOO_MANY_CONNECTIONS', 'this address has as many requests open as it may')
      inFlight.set(source, n + 1)
      res.once('close', () => {
        const left = (inFlight.get(source) ?? 1) - 1
        if (left === 0) inFlight.delete(source)
        else inFlight.set(source, left)
      })
    }
    const parsed = requestTarget(req.url)
    if (parsed == null) return refuse(res, 'BAD_URL', 'the request target is not a path that parses and percent-decodes')
    const target = { ...parsed, from }
    try {
      const pending = handler(req, res, target)
      if (pending != null) pending.catch(err => { failed(res, err) })
    } catch (err) {
      failed(res, err)
    }
  }
}

/**
 * Per-address and total caps on open connections, and the first head's deadline on each. A
 * trusted proxy's connections count only toward the total: they carry everyone.
 */
function guardConnections (server: Server, limits: HttpGuardLimits, tls: boolean, proxy: TrustedProxy | undefined): void {
  const open = new Map<string, number>()
  let total = 0
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? ''
    const source = sourceOf(address)
    const mine = open.get(source) ?? 0
    const capped = !limits.exempt(address) && proxy?.trusts(address) !== true
    if (total >= limits.connections || (capped && mine >= limits.connectionsPerAddress)) {
      // Plain HTTP can say why; under TLS no handshake has happened, so it just closes.
      if (tls) { socket.destroy(); return }
      const body = JSON.stringify({ error: { reason: 'TOO_MANY_CONNECTIONS', details: total >= limits.connections ? 'the server holds as many connections as it takes' : 'this address holds as many connections as it may' } })
      socket.end(`HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\nretry-after: 5\r\n\r\n${body}`)
      setTimeout(() => { socket.destroy() }, limits.lingerMs).unref()
      return
    }
    open.set(source, mine + 1)
    total++
    socket.once('close', () => {
      total--
      const n = (open.get(source) ?? 1) - 1
      if (n === 0) open.delete(source)
      else open.set(source, n)
    })
    // Under TLS the handshake has its own deadline (handshakeTimeout), and the first head's is
    // set on the TLS socket once it exists: a timer left on this raw socket would fire
    // mid-request, as TLS reads bypass it.
    if (tls) return
    firstHeadDeadline(socket, limits)
  })
  if (tls) server.on('secureConnection', (socket: TLSSocket) => { firstHeadDeadline(socket, limits) })
}

/**
 * A silent connection starts no request, so no head timeout covers it: this does. Each request
 * sets the idle limit instead (guardedListener); Node sets keep-alive's between requests.
 */
function firstHeadDeadline (socket: Socket, limits: HttpGuardLimits): void {
  socket.setTimeout(limits.headersTimeoutMs)
  socket.once('timeout', () => { socket.destroy() })
}

/**
 * An HTTP (or, with `tls`, HTTPS) server behind every guard above. `trustedProxy`: connections
 * from it are taken as carrying the client it names (see client-address.ts).
 */
export function createGuardedServer (handler: GuardedHandler, opts: { tls?: { cert: string, key: string }, limits?: Partial<HttpGuardLimits>, trustedProxy?: TrustedProxy } = {}): Server {
  const limits: HttpGuardLimits = { ...HTTP_GUARD_LIMITS, exempt: NONE_EXEMPT, ...opts.limits }
  const options = { maxHeaderSize: limits.maxHeaderBytes, connectionsCheckingInterval: limits.checkEveryMs, requestTimeout: limits.requestTimeoutMs, headersTimeout: limits.headersTimeoutMs, keepAliveTimeout: limits.keepAliveTimeoutMs }
  const listener = guardedListener(handler, limits, opts.trustedProxy)
  const server = opts.tls != null
    ? createHttpsServer({ ...options, cert: opts.tls.cert, key: opts.tls.key, handshakeTimeout: limits.headersTimeoutMs }, listener)
    : createServer(options, listener)
  server.keepAliveTimeout = limits.keepAliveTimeoutMs
  guardConnections(server as Server, limits, opts.tls != null, opts.trustedProxy)
  return server as Server
}
