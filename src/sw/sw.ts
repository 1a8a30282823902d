import { forwardToNode } from './forward.ts'
import { FORWARDED_PATHS } from './protocol.ts'
import { cacheFirst, dropOldCaches, isShellAsset, navigation, precache } from './shell.ts'

declare let self: ServiceWorkerGlobalScope

interface Handler {
  name: string
  canHandle(url: URL, request: Request): boolean
  handle(request: Request): Promise<Response>
}

// Ordered: the first handler that can handle a request answers it.
const handlers: Handler[] = [
  { name: 'node', canHandle: url => url.origin === self.location.origin && FORWARDED_PATHS.test(url.pathname), handle: forwardToNode },
  { name: 'navigation', canHandle: (_url, req) => req.mode === 'navigate', handle: navigation },
  { name: 'shell', canHandle: url => isShellAsset(url), handle: cacheFirst }
]

self.addEventListener('install', event => {
  event.waitUntil((async () => {
    await precache()
    // The very first install takes over at once; an update waits for the page to ask
    // (a 'skip-waiting' message), so an open cafe is never swapped under its owner.
    if (self.registration.active == null) await self.skipWaiting()
  })())
})

self.addEventListener('activate', event => {
  event.waitUntil((async () => {
    await dropOldCaches()
    await self.clients.claim()
  })())
})

self.addEventListener('message', event => {
  if ((event.data as { type?: string } | null)?.type === 'skip-waiting') void self.skipWaiting()
})

self.addEventListener('fetch', event => {
  const url = new URL(event.request.url)
  const handler = handlers.find(h => h.canHandle(url, event.request))
  // Everything else (relays.json, …) goes to the network untouched.
  if (handler == null) return
  // respondWith must be called synchronously inside the event, hence no await before it.
  event.respondWith(handler.handle(event.request))
})
