import { refusalResponse } from '../shared/errors.ts'
import { prefixRouter } from './router.ts'
import type { Cafe } from '../cafe/compose.ts'
import type { createPeerApp } from '../client/index.ts'
import type { Router } from './router.ts'
import type { Hono } from 'hono'

export interface DeviceApps {
  /** `/api/v0`, the local API. */
  api: Hono
  /** `/cafe/v1`, this device's cafe. */
  cafeApp: Cafe['app']
  /** `/client/v1`, what any peer may ask of this one. */
  peerApp: ReturnType<typeof createPeerApp>
  /** `/ipfs`, this device's own blocks as a trustless gateway. */
  gateway: Hono
  /** Whether a peer is one of this account's cafes (those may pull its blocks for a pin). */
  isOwnCafe: (peer: string) => Promise<boolean>
}

/**
 * Who reaches what on this device. Its own pages (the service worker forwards `/api/v0`,
 * `/cafe/v1` and `/ipfs`): all three. Other peers over libp2p: `/client/v1` (any peer:
 * deliveries, this account's contact), `/ipfs` (its own cafes only, when they pull a pin), and
 * the cafe API for everything else.
 */
export function deviceRouter ({ api, cafeApp, peerApp, gateway, isOwnCafe }: DeviceApps): Router {
  const cafeForPeer = async (request: Request, remotePeer: string): Promise<Response> => cafeApp.fetch(request, { remotePeer })
  return prefixRouter([
    ['/api/v0/', { own: async request => api.fetch(request) }],
    ['/client/v1/', { peer: async (request, remotePeer) => peerApp.fetch(request, { remotePeer }) }],
    // Same-origin callers of the cafe API have no libp2p peer id: they are this device.
    ['/cafe/v1/', { own: async request => cafeApp.fetch(request, {}), peer: cafeForPeer }],
    ['/ipfs/', {
      own: async request => gateway.fetch(request),
      peer: async (request, remotePeer) => await isOwnCafe(remotePeer)
        ? gateway.fetch(request)
        : refusalResponse('FORBIDDEN', 'this peer serves its blocks to its own cafes only')
    }]
  ], {
    own: async request => refusalResponse('NOT_FOUND', `no route ${new URL(request.url).pathname}`),
    // The cafe API answers (and refuses) every other path a peer asks for.
    peer: cafeForPeer
  })
}
