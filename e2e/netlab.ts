import { execFileSync, spawn } from 'node:child_process'
import { readlinkSync } from 'node:fs'
import { chmod, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { ChildProcess, SpawnOptions } from 'node:child_process'

/**
 * Networks for e2e tests: unnamed network namespaces (nothing global to clean up if a run dies:
 * a namespace goes with its last process), veth links, routers with real NAT (iptables
 * MASQUERADE; `--random-fully` for a symmetric one) and firewalls. Built inside the e2e suite's
 * own namespace (scripts/in-netns.sh), so no packet leaves it. Needs root (as the suite has).
 */

const sh = (args: string[]): string => execFileSync(args[0], args.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })

/** One network namespace, held by a `sleep` process made with `unshare -n`. */
export class Netns {
  readonly name: string
  readonly #holder: ChildProcess
  readonly path: string

  private constructor (name: string, holder: ChildProcess) {
    this.name = name
    this.#holder = holder
    this.path = `/proc/${holder.pid!}/ns/net`
  }

  static async create (name: string): Promise<Netns> {
    const holder = spawn('unshare', ['-n', 'sleep', 'infinity'], { stdio: 'ignore' })
    const ns = new Netns(name, holder)
    const own = readlinkSync('/proc/self/ns/net')
    // unshare execs sleep once the namespace is made: wait (bounded) until the holder is in a new one.
    for (let i = 0; ; i++) {
      let now: string | undefined
      try { now = readlinkSync(ns.path) } catch { now = undefined }
      if (now != null && now !== own) break
      if (i > 200 || holder.exitCode != null) throw new Error(`namespace ${name} was not made`)
      await new Promise(resolve => setTimeout(resolve, 10))
    }
    // IPv4 only: IPv6 link-local addresses settling (DAD) a second after a link comes up make
    // Chromium abort a load under way with ERR_NETWORK_CHANGED.
    ns.run('sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1')
    ns.run('sysctl', '-qw', 'net.ipv6.conf.default.disable_ipv6=1')
    ns.run('ip', 'link', 'set', 'lo', 'up')
    return ns
  }

  get pid (): number { return this.#holder.pid! }

  /** Runs a command in the namespace and returns its output (throws on failure). */
  run (...args: string[]): string { return sh(['nsenter', `--net=${this.path}`, '--', ...args]) }

  /** Starts a long-running process in the namespace. */
  spawn (command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
    return spawn('nsenter', [`--net=${this.path}`, '--', command, ...args], options)
  }

  destroy (): void { this.#holder.kill('SIGKILL') }
}

export interface LinkEnd { ns: Netns, ifname: string, address: string, gateway?: string }

export class Netlab {
  readonly root: string
  readonly #namespaces: Netns[] = []
  #links = 0

  /** `root`: a directory for the lab's files (browser launchers). */
  constructor (root: string) { this.root = root }

  async namespace (name: string): Promise<Netns> {
    const ns = await Netns.create(name)
    this.#namespaces.push(ns)
    return ns
  }

  /** A veth pair between two namespaces, each end with an address (`a.b.c.d/len`; none for a bridge port), both up. */
  link (a: Netns, aAddr: string | undefined, b: Netns, bAddr: string): [LinkEnd, LinkEnd] {
    const n = this.#links++
    const [ia, ib] = [`v${n}a`, `v${n}b`]
    sh(['ip', 'link', 'add', ia, 'type', 'veth', 'peer', 'name', ib])
    sh(['ip', 'link', 'set', ia, 'netns', String(a.pid)])
    sh(['ip', 'link', 'set', ib, 'netns', String(b.pid)])
    for (const [ns, ifname, addr] of [[a, ia, aAddr], [b, ib, bAddr]] as const) {
      if (addr != null) ns.run('ip', 'addr', 'add', addr, 'dev', ifname)
      ns.run('ip', 'link', 'set', ifname, 'up')
    }
    return [{ ns: a, ifname: ia, address: aAddr?.split('/')[0] ?? '' }, { ns: b, ifname: ib, address: bAddr.split('/')[0] }]
  }

  /**
   * A LAN behind `router`: a bridge there with `gateway` (`192.168.1.1/24`), and each device
   * on it with its address and the gateway as its default route.
   */
  lan (router: Netns, gateway: string, devices: Array<[Netns, string]>): LinkEnd[] {
    const bridge = `br${this.#links++}`
    router.run('ip', 'link', 'add', bridge, 'type', 'bridge')
    router.run('ip', 'addr', 'add', gateway, 'dev', bridge)
    router.run('ip', 'link', 'set', bridge, 'up')
    return devices.map(([device, addr]) => {
      const [r, d] = this.link(router, undefined, device, addr)
      router.run('ip', 'link', 'set', r.ifname, 'master', bridge)
      device.run('ip', 'route', 'add', 'default', 'via', gateway.split('/')[0])
      return { ...d, gateway: gateway.split('/')[0] }
    })
  }

  /**
   * Makes `router` a NAT router out of `wan`: forwarding on, MASQUERADE (endpoint-independent
   * mapping: a cone NAT as home routers and many carriers make), or with `--random-fully` a new
   * port per destination (a symmetric NAT). Inbound only for established flows.
   */
  nat (router: Netns, wan: LinkEnd, kind: 'cone' | 'symmetric'): void {
    router.run('sysctl', '-qw', 'net.ipv4.ip_forward=1')
    router.run('iptables', '-t', 'nat', '-A', 'POSTROUTING', '-o', wan.ifname, '-j', 'MASQUERADE', ...(kind === 'symmetric' ? ['--random-fully'] : []))
    router.run('iptables', '-A', 'FORWARD', '-i', wan.ifname, '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT')
    router.run('iptables', '-A', 'FORWARD', '-i', wan.ifname, '-j', 'DROP')
    // Unsolicited packets to the router itself are dropped (as a router's firewall does) before
    // conntrack confirms them: a remembered stray would take the port a device's outgoing flow
    // maps to, and MASQUERADE would then give that flow another one (hole punching fails).
    router.run('iptables', '-A', 'INPUT', '-i', wan.ifname, '-m', 'conntrack', '--ctstate', 'NEW,INVALID', '-j', 'DROP')
  }

  /** A router that forwards no UDP at all, and TCP only to `tcpPorts` (a network that allows web traffic only). */
  webOnly (router: Netns, tcpPorts: number[]): void {
    router.run('iptables', '-I', 'FORWARD', '1', '-p', 'udp', '-j', 'DROP')
    router.run('iptables', '-I', 'FORWARD', '2', '-p', 'tcp', '-m', 'multiport', '!', '--dports', tcpPorts.join(','), '-m', 'conntrack', '--ctstate', 'NEW', '-j', 'DROP')
  }

  /** Takes a link end down (a cut cable, Wi-Fi gone) or up again, with its default route back (as DHCP gives it). */
  setLink (end: LinkEnd, up: boolean): void {
    end.ns.run('ip', 'link', 'set', end.ifname, up ? 'up' : 'down')
    if (up && end.gateway != null) end.ns.run('ip', 'route', 'replace', 'default', 'via', end.gateway)
  }

  /**
   * A Chromium launcher for `ns`: a script Playwright starts as the browser's executable, which
   * runs Debian's Chromium inside the namespace (Playwright talks to it over a pipe).
   */
  async chromiumIn (ns: Netns, chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'): Promise<string> {
    const file = join(this.root, `chromium-${ns.name}.sh`)
    await writeFile(file, `#!/bin/sh\nexec nsenter --net=${ns.path} -- ${chromium} "$@"\n`)
    await chmod(file, 0o755)
    return file
  }

  /** Ends every namespace (their links and routes go with them). */
  destroy (): void {
    for (const ns of this.#namespaces.splice(0)) ns.destroy()
  }
}
