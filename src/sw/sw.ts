import { handlers } from './handlers.ts'
import { forgetNode, nodeIsServing } from './node-client.ts'
import { isMessage } from './protocol.ts'
import { dropOldCaches, precache } from './shell.ts'
import type { PageControl } from './protocol.ts'

declare let self: ServiceWorkerGlobalScope

self.addEventListener('install', event => {
  event.waitUntil((async () => {
    await precache()
    // The first install takes over at once (with clients.claim() in activate), so the first
    // visit is served by it without a reload. An update waits: the page activates it by posting
    // 'skip-waiting' (the update prompt), so a running cafe is never swapped under its owner.
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
  const data: unknown = event.data
  const source = event.source
  if (isMessage<PageControl>(data, 'skip-waiting')) {
    event.waitUntil(self.skipWaiting())
  } else if (isMessage<PageControl>(data, 'lightcafe:claim')) {
    event.waitUntil(self.clients.claim())
  } else if (isMessage<Extract<PageControl, { type: 'lightcafe:serving' }>>(data, 'lightcafe:serving') && source instanceof WindowClient) {
    nodeIsServing(source, data.carrier)
  } else if (isMessage<PageControl>(data, 'lightcafe:stopped') && source instanceof WindowClient) {
    forgetNode(source.id)
  }
})

self.addEventListener('fetch', event => {
  const url = new URL(event.request.url)
  const handler = handlers.find(h => h.canHandle(url, event.request))
  if (handler == null) return // the network, as if there were no service worker
  // Quirk: respondWith must be called synchronously, in the event's own task. After an await
  // the browser has already sent the request to the network, and respondWith throws.
  event.respondWith(handler.handle(event))
})
