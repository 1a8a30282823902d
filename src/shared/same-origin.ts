/**
 * Which requests may reach this device's own APIs: only the app itself, by `fetch()`.
 *
 * Any web page can send requests to our origin: a form it posts (a top-level navigation, which
 * our service worker sees), a link, an `<img>`. Such a request must never mint a token, store a
 * file, start a recovery or read the recovery phrase. The facts come from Fetch Metadata
 * (`Sec-Fetch-*`, `Origin`) where the browser sends them, and from what the service worker knows
 * of the request (its mode, destination, and the client that made it), which it passes on to
 * the node page in the `x-lightcafe-fetch-*` headers (a page cannot set `Sec-` headers).
 */

/** How the service worker tells the node page what it knew of a request. */
export const FETCH_FACT_HEADERS = {
  site: 'x-lightcafe-fetch-site',
  mode: 'x-lightcafe-fetch-mode',
  dest: 'x-lightcafe-fetch-dest'
} as const

export interface FetchFacts {
  method: string
  /** The path asked for (no query). */
  path: string
  /** This app's origin, e.g. `https://cafe.example`. */
  selfOrigin: string
  /** The `Origin` header, if any. */
  origin?: string | null
  /** `same-origin`, `same-site`, `cross-site` or `none` (typed by the user), as Sec-Fetch-Site. */
  site?: string | null
  /** `cors`, `same-origin`, `no-cors`, `navigate`, as Sec-Fetch-Mode / Request.mode. */
  mode?: string | null
  /** `empty` for fetch(); `document`, `image`, `iframe`... otherwise, as Sec-Fetch-Dest. */
  dest?: string | null
}

/** GETs that hand out secrets: the recovery phrase, invitation tokens. */
const SENSITIVE_GETS = /^\/api\/v0\/(account\/mnemonic|tokens)\/?$/

/** True for what changes state (every non-GET/HEAD) or reads a secret. */
export function needsAppFetch (method: string, path: string): boolean {
  const m = method.toUpperCase()
  return (m !== 'GET' && m !== 'HEAD') || SENSITIVE_GETS.test(path)
}

/**
 * Why this request to an API path is refused (details for a 403 CROSS_SITE_REFUSED), or
 * `undefined` if it may go on. Missing facts are not held against a request: the node page's
 * own calls carry none, and the service worker supplies them for everything it forwards.
 */
export function crossSiteRefusal (f: FetchFacts): string | undefined {
  if (f.origin != null && f.origin !== '' && f.origin !== f.selfOrigin) return `a request from ${f.origin.slice(0, 100)} cannot reach this device's API`
  if (f.site != null && f.site !== 'same-origin' && !(f.site === 'none' && !needsAppFetch(f.method, f.path))) {
    return `a ${f.site.slice(0, 20)} request cannot reach this device's API; only the app on this origin can`
  }
  if (f.mode === 'navigate') return 'the API is not a page to open: use the app'
  if (needsAppFetch(f.method, f.path)) {
    if (f.mode != null && f.mode !== 'cors' && f.mode !== 'same-origin') return `this route answers the app's fetch() only, not a ${f.mode.slice(0, 20)} request`
    if (f.dest != null && f.dest !== 'empty' && f.dest !== '') return `this route answers the app's fetch() only, not a request for a ${f.dest.slice(0, 20)}`
  }
  return undefined
}

/** The facts a request carries in its headers (Fetch Metadata, or what the service worker passed on). */
export function factsOf (request: Request): FetchFacts {
  const url = new URL(request.url)
  const h = request.headers
  return {
    method: request.method,
    path: url.pathname,
    selfOrigin: url.origin,
    origin: h.get('origin'),
    site: h.get('sec-fetch-site') ?? h.get(FETCH_FACT_HEADERS.site),
    mode: h.get('sec-fetch-mode') ?? h.get(FETCH_FACT_HEADERS.mode),
    dest: h.get('sec-fetch-dest') ?? h.get(FETCH_FACT_HEADERS.dest)
  }
}
