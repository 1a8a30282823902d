import { FETCH_FACT_HEADERS, crossSiteRefusal, needsAppFetch } from '../shared/same-origin.ts'
import type { FetchFacts } from '../shared/same-origin.ts'

declare let self: ServiceWorkerGlobalScope

/**
 * What the worker knows of a request for the node's APIs. Fetch Metadata headers are added by
 * the network layer, after the worker (Chromium shows none to it), so the worker works them out:
 * a navigation may come from any site (a form another page posts), and every other request it
 * sees comes from one of its clients, whose URL says which origin made it.
 */
export async function factsOfEvent (request: Request, clientId: string): Promise<FetchFacts> {
  const url = new URL(request.url)
  let site = request.headers.get('sec-fetch-site')
  if (site == null && request.mode !== 'navigate' && clientId !== '') {
    const client = await self.clients.get(clientId)
    if (client != null) site = new URL(client.url).origin === self.location.origin ? 'same-origin' : 'cross-site'
  }
  return {
    method: request.method,
    path: url.pathname,
    selfOrigin: self.location.origin,
    origin: request.headers.get('origin'),
    site,
    mode: request.mode,
    dest: request.destination === '' ? 'empty' : request.destination
  }
}

/** Why the worker refuses to forward this request (403 CROSS_SITE_REFUSED), or `undefined`. */
export function refusalOf (facts: FetchFacts): string | undefined {
  const why = crossSiteRefusal(facts)
  if (why != null) return why
  // A route that changes state or reads a secret needs to know its caller is the app.
  if (needsAppFetch(facts.method, facts.path) && facts.site == null) return 'the page that sent this request could not be identified'
  return undefined
}

/** The forwarded headers: the caller's, with our facts in place of any it sent under their names. */
export function withFacts (headers: Array<[string, string]>, facts: FetchFacts): Array<[string, string]> {
  const ours = new Set<string>(Object.values(FETCH_FACT_HEADERS))
  const out = headers.filter(([k]) => !ours.has(k.toLowerCase()))
  if (facts.site != null) out.push([FETCH_FACT_HEADERS.site, facts.site])
  if (facts.mode != null) out.push([FETCH_FACT_HEADERS.mode, facts.mode])
  if (facts.dest != null) out.push([FETCH_FACT_HEADERS.dest, facts.dest])
  return out
}
