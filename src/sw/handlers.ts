import { forwardToNode } from './forward.ts'
import { FORWARDED_PATHS } from './protocol.ts'
import { cacheFirst, isShellAsset, navigation } from './shell.ts'

declare let self: ServiceWorkerGlobalScope

export interface Handler {
  name: string
  canHandle(url: URL, request: Request): boolean
  handle(event: FetchEvent): Promise<Response>
}

/** The node's HTTP APIs: forwarded to the page that runs the node. */
const node: Handler = {
  name: 'node',
  canHandle: url => url.origin === self.location.origin && FORWARDED_PATHS.test(url.pathname),
  handle: async event => forwardToNode(event.request, event.clientId)
}

/** Page loads: the network, or the cached index.html when offline. */
const navigate: Handler = {
  name: 'navigation',
  canHandle: (_url, request) => request.mode === 'navigate',
  handle: async event => navigation(event.request)
}

/** Hashed scripts and styles, icons, manifest: from the cache. */
const shell: Handler = {
  name: 'shell',
  canHandle: url => isShellAsset(url),
  handle: async event => cacheFirst(event.request)
}

/**
 * In order: the first handler that can handle a request answers it. A request none can handle
 * (e.g. /relays.json, which must reflect the relay of the moment) goes to the network untouched
 * and uncached.
 */
export const handlers: readonly Handler[] = [node, navigate, shell]
