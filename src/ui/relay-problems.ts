import { relayEndpoint } from '../node/relay-cause.ts'
import { RELAY_DIAL_TIMEOUT_MS } from '../node/relay-keeper.ts'
import type { RelayCause } from '../node/relay-cause.ts'
import type { LanInfo } from '../node/lan.ts'

/** A relay that cannot be reached, named by its address, with the likely cause in plain words. */
export interface RelayProblem { relay: string, text: string, link?: string }

/**
 * The page that installs this LAN's certificate, when relays.json names it (LAN mode serves it
 * over plain HTTP on the LAN address, a port this HTTPS page does not know otherwise).
 */
export function setupPage (lan?: LanInfo): string | undefined {
  return lan?.setup
}

/** Words for a relay's last failure; undefined while it has none. */
export function relayProblem (relay: { multiaddr: string, cause?: RelayCause }, setup?: string): RelayProblem | undefined {
  if (relay.cause == null) return undefined
  const { host, port } = relayEndpoint(relay.multiaddr)
  const at = `The relay at ${host.includes(':') ? `[${host}]` : host}:${port}`
  const out = (text: string, link?: string): RelayProblem => ({ relay: relay.multiaddr, text, ...(link != null ? { link } : {}) })
  switch (relay.cause) {
    case 'mixed-content': return out(`${at} has an unencrypted ws:// address, which browsers block from an HTTPS page (mixed content): it needs a wss:// address.`)
    case 'loopback': return out(`${at} is a loopback address, which means this device itself, not the computer running the relay: open the app from the address the cafe shows (its invitation link or QR code).`)
    case 'certificate': return out(`${at} did not take a secure (wss) connection: the device may not trust this relay's certificate (install the CA from ${setup ?? 'the setup page of the computer running Lightcafe: http://<its address>/setup'}), or the relay is not running.`, setup)
    case 'timeout': return out(`${at} did not answer within ${RELAY_DIAL_TIMEOUT_MS / 1000} s: it may not be running, or a firewall drops port ${port}.`)
    case 'refused': return out(`${at} refused the connection: the relay is not running there, or a firewall blocks port ${port}.`)
  }
}
