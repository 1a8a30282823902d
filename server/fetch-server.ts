import { Readable } from 'node:stream'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createGuardedServer, refuse } from '../relay/http-guard.ts'
import { refusalResponse } from '../src/shared/errors.ts'
import type { HttpGuardLimits, RequestTarget } from '../relay/http-guard.ts'
import type { TrustedProxy } from '../relay/client-address.ts'

/**
 * `remoteAddress`: the client's (the connection's, or the one a trusted proxy names);
 * `connection`: an id of the TCP connection the request came on, unique for the server's life.
 */
export type FetchHandler = (request: Request, info: { remoteAddress: string, connection: number }) => Promise<Response>

export interface FetchServer { server: Server, url: string, port: number, stop(): Promise<void> }

function toRequest (req: IncomingMessage, url: URL, signal: AbortSignal): Request {
  const headers = new Headers()
  for (const [k, v] of Object.entries(req.headers)) {
    if (v == null || k.startsWith(':')) continue
    for (const one of Array.isArray(v) ? v : [v]) headers.append(k, one)
  }
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD'
  return new Request(url, {
    method: req.method,
    headers,
    signal,
    ...(hasBody ? { body: Readable.toWeb(req) as ReadableStream<Uint8Array>, duplex: 'half' } : {})
  } as RequestInit)
}

async function send (res: ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string | string[]> = {}
  response.headers.forEach((v, k) => { headers[k] = k === 'set-cookie' ? response.headers.getSetCookie() : v })
  res.writeHead(response.status, headers)
  if (response.body == null) { res.end(); return }
  // Written with backpressure: a slow reader holds the producer, not memory.
  const reader = response.body.getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      if (!res.write(value)) await new Promise<void>((resolve, reject) => { res.once('drain', resolve); res.once('close', () => reject(new Error('the client went away'))) })
    }
    res.end()
  } catch {
    await reader.cancel().catch(() => {})
    res.destroy()
  }
}

/** Serves a fetch-style handler (a Hono app) over Node's HTTP or HTTPS server. */
export async function startFetchServer (opts: { host: string, port: number, handler: FetchHandler, tls?: { cert: string, key: string }, limits?: Partial<HttpGuardLimits>, trustedProxy?: TrustedProxy }): Promise<FetchServer> {
  const proto = opts.tls != null ? 'https' : 'http'
  let origin = ''
  const connections = new WeakMap<object, number>()
  let lastConnection = 0
  const handle = async (req: IncomingMessage, res: ServerResponse, target: RequestTarget): Promise<void> => {
    const abort = new AbortController()
    // The caller hung up: a handler still reading its body or writing an answer stops.
    res.on('close', () => { if (!res.writableFinished) abort.abort(new Error('the client closed the connection')) })
    // The Fetch API cannot carry these (a Request refuses them): no handler could answer them.
    if (/^(CONNECT|TRACE|TRACK)$/i.test(req.method ?? '')) { refuse(res, 'METHOD_NOT_ALLOWED', `${req.method ?? ''} is not served here`); return }
    // Our own origin, not the caller's Host header: handlers read only the path and query.
    const url = new URL(target.url.pathname + target.url.search, origin)
    let response: Response
    try {
      let connection = connections.get(req.socket)
      if (connection == null) connections.set(req.socket, connection = ++lastConnection)
      response = await opts.handler(toRequest(req, url, abort.signal), { remoteAddress: target.from, connection })
    } catch (err) {
      response = refusalResponse('INTERNAL', (err as Error).message)
    }
    await send(res, response)
  }
  // No cap on a whole request's time here: it would cut a large upload. Bodies are bounded per
  // route instead (uploads by their cap, idle limit and total time; the rest: http-carrier.ts).
  const server = createGuardedServer(handle, { ...(opts.tls != null ? { tls: opts.tls } : {}), limits: { requestTimeoutMs: 0, ...opts.limits }, ...(opts.trustedProxy != null ? { trustedProxy: opts.trustedProxy } : {}) })
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(opts.port, opts.host, () => resolve()) })
  const port = (server.address() as AddressInfo).port
  origin = `${proto}://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`
  return {
    server: server as Server,
    port,
    url: origin,
    stop: async () => {
      await new Promise<void>(resolve => { server.close(() => resolve()); server.closeAllConnections() })
    }
  }
}
