import { Netlab } from './netlab.ts'
import type { LinkEnd, Netns } from './netlab.ts'

/**
 * The networks of issue 25, as a phone and a tablet cafe meet them: a public network with the
 * servers (the app's host and the relay's host, with its STUN/TURN), a home behind a cone NAT
 * with the cafe and a phone on its Wi-Fi, and phones on carriers: behind a cone NAT, behind a
 * symmetric NAT, and on a network that forwards no UDP and only web ports over TCP.
 * Addresses are documentation ranges (RFC 5737) for the public side, private ones behind NATs.
 */
export const ADDR = {
  app: '203.0.113.10',
  relay: '203.0.113.20',
  homeWan: '198.51.100.2',
  coneWan: '198.51.100.6',
  symWan: '198.51.100.10',
  strictWan: '198.51.100.14',
  cafe: '192.168.1.10',
  lanPhone: '192.168.1.11'
} as const

export interface Internet {
  lab: Netlab
  public: Netns
  cafe: Netns
  lanPhone: Netns
  conePhone: Netns
  symPhone: Netns
  strictPhone: Netns
  /** The home router's side of its uplink: down = the home's internet is cut. */
  homeUplink: LinkEnd
  /** The cafe's own link to the home network: down = the tablet's Wi-Fi is gone. */
  cafeLink: LinkEnd
  destroy(): void
}

/** Builds the networks; `webPorts`: the TCP ports the web-only network lets through (the app's and the relay's). */
export async function buildInternet (root: string, webPorts: number[]): Promise<Internet> {
  const lab = new Netlab(root)
  try {
    const pub = await lab.namespace('public')
    pub.run('sysctl', '-qw', 'net.ipv4.ip_forward=1')
    // The servers' addresses (no dummy interfaces here: on loopback, reached through the routes to it).
    pub.run('ip', 'addr', 'add', `${ADDR.app}/32`, 'dev', 'lo')
    pub.run('ip', 'addr', 'add', `${ADDR.relay}/32`, 'dev', 'lo')

    const router = async (name: string, wan: string, pubSide: string, kind: 'cone' | 'symmetric'): Promise<{ ns: Netns, uplink: LinkEnd }> => {
      const ns = await lab.namespace(name)
      const [, up] = lab.link(pub, `${pubSide}/30`, ns, `${wan}/30`)
      ns.run('ip', 'route', 'add', 'default', 'via', pubSide)
      lab.nat(ns, up, kind)
      return { ns, uplink: up }
    }
    const home = await router('home', ADDR.homeWan, '198.51.100.1', 'cone')
    const cone = await router('cone-carrier', ADDR.coneWan, '198.51.100.5', 'cone')
    const sym = await router('sym-carrier', ADDR.symWan, '198.51.100.9', 'symmetric')
    const strict = await router('web-only', ADDR.strictWan, '198.51.100.13', 'cone')
    lab.webOnly(strict.ns, webPorts)

    const cafe = await lab.namespace('cafe')
    const lanPhone = await lab.namespace('lan-phone')
    const conePhone = await lab.namespace('cone-phone')
    const symPhone = await lab.namespace('sym-phone')
    const strictPhone = await lab.namespace('web-only-phone')
    const [cafeLink] = lab.lan(home.ns, '192.168.1.1/24', [[cafe, `${ADDR.cafe}/24`], [lanPhone, `${ADDR.lanPhone}/24`]])
    lab.lan(cone.ns, '100.64.1.1/24', [[conePhone, '100.64.1.2/24']])
    lab.lan(sym.ns, '100.64.2.1/24', [[symPhone, '100.64.2.2/24']])
    lab.lan(strict.ns, '100.64.3.1/24', [[strictPhone, '100.64.3.2/24']])
    return { lab, public: pub, cafe, lanPhone, conePhone, symPhone, strictPhone, homeUplink: home.uplink, cafeLink, destroy: () => { lab.destroy() } }
  } catch (err) {
    lab.destroy()
    throw err
  }
}
