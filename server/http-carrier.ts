import { requestBodyCap, requestBodyMs } from '../src/cafe/compose.ts'
import { errorBody } from '../src/shared/errors.ts'
import { boundedChunks, streamFromIterator } from '../src/shared/streams.ts'
import type { Cafe } from '../src/cafe/compose.ts'

/**
 * The peer id an HTTP caller gets in the cafe app: HTTP has no Noise to prove one. A session
 * registered over HTTP is bound to this carrier (its JWT's `peer` is `http`), so it is refused
 * over libp2p (PEER_MISMATCH), and a libp2p session's tokens are refused over HTTP. Strangers
 * over HTTP share one identity for the per-peer rate limits (challenges, deliveries, queries):
 * an IP address is no identity behind NAT or a proxy, so they share one budget.
 */
export const HTTP_PEER = 'http'

/** The request with its body bounded as the libp2p carrier bounds it, per route. */
function bounded (req: Request): Request {
  if (req.body == null) return req
  const path = new URL(req.url).pathname
  const ms = requestBodyMs(req.method, path)
  const body = streamFromIterator(boundedChunks(req.body, { maxBytes: requestBodyCap(req.method, path), ...(ms != null ? { signal: AbortSignal.any([req.signal, AbortSignal.timeout(ms)]) } : { signal: req.signal }), what: 'the request body' })[Symbol.asyncIterator]())
  return new Request(req, { body, duplex: 'half' } as RequestInit)
}

/** `/cafe/v1` and `/health` over real HTTP, for pinning clients, curl and scripts. */
export function createHttpCarrier (cafe: Cafe, info: { startedAt: string, peerId: string, version: string }): (req: Request) => Promise<Response> {
  return async req => {
    const path = new URL(req.url).pathname
    if (path === '/health' && (req.method === 'GET' || req.method === 'HEAD')) {
      const settings = await cafe.host.getSettings()
      return Response.json({ ok: true, peerId: info.peerId, version: info.version, startedAt: info.startedAt, uptimeS: Math.round(process.uptime()), cafe: { enabled: settings.enabled, name: settings.name } })
    }
    if (path.startsWith('/cafe/v1/') || path === '/cafe/v1') return cafe.app.fetch(bounded(req), { remotePeer: HTTP_PEER })
    return Response.json(errorBody('NOT_FOUND', `no route ${path.slice(0, 128)}`), { status: 404 })
  }
}
