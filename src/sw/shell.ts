declare let self: ServiceWorkerGlobalScope

/** The app shell of this build: injected by the build (vite.config.ts), versioned by content hash. */
declare const __LIGHTCAFE_SHELL__: { version: string, files: string[] }
export const SHELL = __LIGHTCAFE_SHELL__
export const CACHE = `lightcafe-shell-${SHELL.version}`
/** Navigations try the network this long before falling back to the cached shell. */
const NAVIGATION_TIMEOUT_MS = 3_000

export async function precache (): Promise<void> {
  const cache = await caches.open(CACHE)
  await cache.addAll(SHELL.files.map(f => new Request(f, { cache: 'reload' })))
}

/** Deletes the shells of older builds. */
export async function dropOldCaches (): Promise<void> {
  for (const name of await caches.keys()) {
    if (name.startsWith('lightcafe-shell-') && name !== CACHE) await caches.delete(name)
  }
}

export function isShellAsset (url: URL): boolean {
  return url.origin === self.location.origin && SHELL.files.includes(url.pathname)
}

export async function cacheFirst (request: Request): Promise<Response> {
  const hit = await caches.match(request, { cacheName: CACHE })
  return hit ?? fetch(request)
}

/** Network first (so a deployed update is seen), the cached shell when offline or slow. */
export async function navigation (request: Request): Promise<Response> {
  try {
    const res = await fetch(request, { signal: AbortSignal.timeout(NAVIGATION_TIMEOUT_MS) })
    if (res.ok) return res
  } catch { /* offline or slow: the shell below */ }
  const shell = await caches.match('/', { cacheName: CACHE })
  return shell ?? new Response('Lightcafe is offline and its shell is not cached yet.', { status: 503, headers: { 'content-type': 'text/plain' } })
}
