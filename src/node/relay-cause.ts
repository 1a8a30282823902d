import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * Why a relay could not be dialled, as far as a page can tell. Browsers hide the reason a
 * WebSocket failed (a refused port, an untrusted certificate and a blocked mixed-content
 * request all look alike), so the cause is inferred from what is known: the relay's address,
 * the page's origin, how the dial failed (timed out or at once) and whether it ever worked.
 *
 * - `mixed-content`: a `ws://` relay from an `https:` page (browsers block it), not loopback.
 * - `loopback`: the relay is on 127.0.0.1/localhost but this page is not: that names this
 *   device itself, not the computer running the relay.
 * - `certificate`: a `wss://` relay that fails at once and never worked: most likely a
 *   certificate the device does not trust (or the relay is not running).
 * - `timeout`: no answer within the dial's deadline: down, or a firewall dropping packets.
 * - `refused`: failed at once: not running there, or a firewall refusing the port.
 */
export type RelayCause = 'mixed-content' | 'loopback' | 'certificate' | 'timeout' | 'refused'

export interface RelayEndpoint { host: string, port: string, secure: boolean }

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost|.*\.localhost)$/i

export function isLoopback (host: string): boolean {
  return LOOPBACK.test(host.replace(/^\[|\]$/g, ''))
}

/** Host, port and whether the WebSocket is TLS (`/tls/ws` or `/wss`), from a relay multiaddr. */
export function relayEndpoint (relay: Multiaddr | string): RelayEndpoint {
  const parts = (typeof relay === 'string' ? multiaddr(relay) : relay).getComponents()
  // The first host and port: a circuit address's relay comes first.
  const host = parts.find(c => ['ip4', 'ip6', 'dns', 'dns4', 'dns6', 'dnsaddr'].includes(c.name))?.value ?? ''
  const port = parts.find(c => c.name === 'tcp')?.value ?? ''
  const secure = parts.some(c => c.name === 'wss' || c.name === 'tls')
  return { host, port, secure }
}

export interface DialFailure {
  /** The dial's own deadline passed (its signal aborted). */
  timedOut: boolean
  /** This relay was connected at least once since the page started. */
  everConnected: boolean
}

/** The likely cause of a failed dial to `relay` from a page at `page` (its protocol and hostname). */
export function relayCause (relay: Multiaddr | string, failure: DialFailure, page: { protocol: string, hostname: string }): RelayCause {
  const { host, secure } = relayEndpoint(relay)
  const pageLoopback = isLoopback(page.hostname)
  if (isLoopback(host) && !pageLoopback) return 'loopback'
  // Browsers let a secure page open ws:// to loopback only.
  if (!secure && page.protocol === 'https:' && !isLoopback(host)) return 'mixed-content'
  if (failure.timedOut) return 'timeout'
  if (secure && !failure.everConnected) return 'certificate'
  return 'refused'
}
