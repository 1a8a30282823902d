import { requestBodyCap, requestBodyMs } from '../src/cafe/compose.ts'
import { refusalResponse } from '../src/shared/errors.ts'
import { sourceOf } from '../src/shared/source-address.ts'
import { boundedChunks, streamFromIterator } from '../src/shared/streams.ts'
import type { Cafe } from '../src/cafe/compose.ts'
import type { FetchHandler } from './fetch-server.ts'

/**
 * The peer id an HTTP caller gets in the cafe app: HTTP has no Noise to prove one. A session
 * registered over HTTP is bound to this carrier (its JWT's `peer` is `http`), so it is refused
 * over libp2p (PEER_MISMATCH), and a libp2p session's tokens are refused over HTTP. What one
 * HTTP caller must not share with another is keyed apart: its pending challenges by its TCP
 * connection and address (`http#<n>@<ip>`: behind a proxy one connection carries many
 * clients), its rate limits (challenges, deliveries, queries) by where it comes from
 * (`http@<source>`, an IPv4 address or IPv6 /64: neighbours behind one NAT share that budget,
 * and so does everyone behind a proxy unless the cafe trusts it to name them, `--trusted-proxy`).
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

/**
 * Routes a page of another site may call from a browser: public, read-only answers. The cafe
 * serves no pages, so every `Origin` is another site's; any other route refuses a browser
 * request from another site (CROSS_SITE_REFUSED) rather than trust CORS alone, which lets
 * "simple" requests through before it hides their answer.
 */
export const OPEN_TO_OTHER_SITES: ReadonlyArray<{ method: string, path: string }> = [
  { method: 'GET', path: '/health' }, { method: 'HEAD', path: '/health' },
  { method: 'GET', path: '/cafe/v1/info' }, { method: 'HEAD', path: '/cafe/v1/info' }
]

/** Why a browser request from another site is refused here, or undefined if it is not one (or may come). */
function crossSite (req: Request, path: string): string | undefined {
  if (OPEN_TO_OTHER_SITES.some(r => r.method === req.method && r.path === path)) return undefined
  const origin = req.headers.get('origin')
  if (origin != null) return `a page of ${origin.slice(0, 100)} cannot call this cafe's ${path.slice(0, 64)} from a browser`
  const site = req.headers.get('sec-fetch-site')
  if (site != null && site !== 'none' && site !== 'same-origin') return `a ${site.slice(0, 20)} browser request cannot call this cafe's ${path.slice(0, 64)}`
  return undefined
}

/** `/cafe/v1` and `/health` over real HTTP, for pinning clients, curl and scripts. */
export function createHttpCarrier (cafe: Cafe, info: { startedAt: string, peerId: string, version: string }): FetchHandler {
  return async (req, from) => {
    const path = new URL(req.url).pathname
    const refused = crossSite(req, path)
    if (refused != null) return refusalResponse('CROSS_SITE_REFUSED', refused)
    if (path === '/health' && (req.method === 'GET' || req.method === 'HEAD')) {
      const settings = await cafe.host.getSettings()
      return Response.json({ ok: true, peerId: info.peerId, version: info.version, startedAt: info.startedAt, uptimeS: Math.round(process.uptime()), cafe: { enabled: settings.enabled, name: settings.name } })
    }
    if (path.startsWith('/cafe/v1/') || path === '/cafe/v1') return cafe.app.fetch(bounded(req), { remotePeer: HTTP_PEER, connection: `${HTTP_PEER}#${from.connection}@${from.remoteAddress}`, rateKey: `${HTTP_PEER}@${sourceOf(from.remoteAddress)}` })
    return refusalResponse('NOT_FOUND', `no route ${path.slice(0, 128)}`)
  }
}
