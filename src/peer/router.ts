/** A request from this device's own origin (its pages, through the service worker): it has no peer id. */
export type OwnHandler = (request: Request) => Promise<Response>
/** A request from another peer over libp2p. */
export type PeerHandler = (request: Request, remotePeer: string) => Promise<Response>
export interface Handlers { own?: OwnHandler, peer?: PeerHandler }
/** A path prefix and who may reach what is under it: a caller it has no handler for goes on to the next route. */
export type Route = readonly [prefix: string, handlers: Handlers]
/** One device's requests, by who asks. */
export interface Router { own: OwnHandler, peer: PeerHandler }

/**
 * One ordered table for every request a device answers: the first route whose prefix the path
 * starts with and that has a handler for this caller answers; `otherwise` answers the rest.
 */
export function prefixRouter (routes: readonly Route[], otherwise: Required<Handlers>): Router {
  const pick = <K extends keyof Handlers>(request: Request, who: K): Handlers[K] => {
    const path = new URL(request.url).pathname
    return routes.find(([prefix, handlers]) => path.startsWith(prefix) && handlers[who] != null)?.[1][who]
  }
  return {
    own: async request => (pick(request, 'own') ?? otherwise.own)(request),
    peer: async (request, remotePeer) => (pick(request, 'peer') ?? otherwise.peer)(request, remotePeer)
  }
}
