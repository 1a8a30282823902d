import { bareAddress, isLoopback } from './addresses.ts'
import type { IceServerEntry } from '../../src/node/ice-servers/index.ts'

/** The body of `GET /relays.json` (contract shared with the UI: src/node/relays.ts reads it). */
export interface RelaysJson {
  /** Relays this requester can dial. */
  relays: string[]
  /** In LAN mode: the HTTPS origin and WSS relays other devices use (what an invitation carries). */
  lan?: { origin: string, relays: string[], setup?: string }
  /** STUN/TURN servers on the address this requester reached, TURN credentials minted for this request. */
  iceServers?: IceServerEntry[]
}

export interface RelayView {
  /** ws multiaddrs on loopback, for the host's own browser. */
  loopback: string[]
  /** LAN mode: the HTTPS port, the plain-HTTP port of the setup page and, per LAN address, the wss multiaddrs on that address (first = preferred). */
  lan?: { httpsPort: number, setupPort?: number, byHost: Array<[host: string, relays: string[]]> }
}

/** Splits a relay's multiaddrs into loopback ws and per-LAN-address wss (`/tls/ws` or `/wss`). */
export function relayView (multiaddrs: string[], lanHosts: string[] | undefined, httpsPort: number, setupPort?: number): RelayView {
  const hostOf = (ma: string): string => ma.split('/')[2] ?? ''
  const secure = (ma: string): boolean => ma.includes('/tls/ws') || ma.includes('/wss')
  const loopback = multiaddrs.filter(ma => isLoopback(hostOf(ma)) && !secure(ma))
  if (lanHosts == null) return { loopback }
  return { loopback, lan: { httpsPort, ...(setupPort != null ? { setupPort } : {}), byHost: lanHosts.map(h => [h, multiaddrs.filter(ma => hostOf(ma) === h && secure(ma))]) } }
}

/**
 * What a requester gets, by the local address its request arrived on: loopback (the host's
 * own browser) gets the loopback ws relays; a LAN address gets only the wss relays on that
 * address, never a loopback one. In LAN mode both also get `lan`, so a cafe opened on the
 * host's own browser can invite other devices to an origin they reach.
 */
export function relaysJson (localAddress: string | undefined, view: RelayView, iceFor?: (host: string) => IceServerEntry[]): RelaysJson {
  // Without LAN mode the server listens on loopback only: every requester is the host.
  if (view.lan == null || view.lan.byHost.length === 0) return { relays: view.loopback }
  const here = bareAddress(localAddress)
  const [host, relays] = view.lan.byHost.find(([h]) => h === here) ?? view.lan.byHost[0]
  // An https page cannot know the setup page's plain-HTTP port: say it, for "install the certificate" links.
  const setup = view.lan.setupPort != null ? { setup: `http://${host}:${view.lan.setupPort}/setup` } : {}
  const lan = { origin: `https://${host}:${view.lan.httpsPort}`, relays, ...setup }
  const ice = iceFor?.(host) ?? []
  return { relays: isLoopback(localAddress) ? view.loopback : relays, lan, ...(ice.length > 0 ? { iceServers: ice } : {}) }
}
