declare let self: ServiceWorkerGlobalScope

/** The app shell of one build: what to precache, and a version that changes whenever any of it does. */
export interface Shell { version: string, files: string[] }

// Replaced by the build (src/sw/build/vite-plugin.ts) with the JSON of this build's shell.
declare const __LIGHTCAFE_SHELL__: string
export const SHELL: Shell = JSON.parse(__LIGHTCAFE_SHELL__)

const PREFIX = 'lightcafe-shell-'
export const CACHE = `${PREFIX}${SHELL.version}`
/** Every cache this version uses; activate deletes our other caches (older shells). */
const CURRENT_CACHES = new Set([CACHE])

/** Navigations try the network this long, then fall back to the cached shell. */
const NAVIGATION_TIMEOUT_MS = 3_000

/**
 * The longest an install may take: WebKit never ends an install whose fetches were lost to a
 * navigation, and then every later registration of the origin queues behind it.
 */
export const INSTALL_MS = 20_000

/** Fetches the whole shell into this version's cache; any failure, or taking over `timeoutMs`, fails the install (it is retried later). */
export async function precache (timeoutMs = INSTALL_MS): Promise<void> {
  const cache = await caches.open(CACHE)
  const abort = new AbortController()
  const stalled = new Promise<never>((_resolve, reject) => { abort.signal.addEventListener('abort', () => { reject(abort.signal.reason) }, { once: true }) })
  const timer = setTimeout(() => { abort.abort(new Error(`the app shell did not load within ${timeoutMs} ms`)) }, timeoutMs)
  try {
    // `reload`: bypass the HTTP cache, so a stale index.html never lands in a new shell.
    await Promise.race([cache.addAll(SHELL.files.map(f => new Request(f, { cache: 'reload', signal: abort.signal }))), stalled])
  } finally {
    clearTimeout(timer)
  }
}

/** Deletes the shells of other versions. */
export async function dropOldCaches (): Promise<void> {
  for (const name of await caches.keys()) {
    if (name.startsWith(PREFIX) && !CURRENT_CACHES.has(name)) await caches.delete(name)
  }
}

export function isShellAsset (url: URL): boolean {
  return url.origin === self.location.origin && url.search === '' && SHELL.files.includes(url.pathname)
}

/** Precached files: from this version's cache; the network only if the cache lost them. */
export async function cacheFirst (request: Request): Promise<Response> {
  const hit = await caches.match(request, { cacheName: CACHE })
  return hit ?? fetch(request)
}

/**
 * Navigations: network first, so a deployed update is seen at once; the cached index.html when
 * the network fails or is slow, so the app opens offline. The shell is the same for every path.
 */
export async function navigation (request: Request): Promise<Response> {
  try {
    const res = await fetch(request, { signal: AbortSignal.timeout(NAVIGATION_TIMEOUT_MS) })
    if (res.ok) return res
  } catch { /* offline or slow: the shell below */ }
  const shell = await caches.match('/', { cacheName: CACHE })
  return shell ?? new Response('Lightcafe is offline and its app shell is not cached yet.', {
    status: 503,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }
  })
}
