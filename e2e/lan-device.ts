import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from '@playwright/test'
import { chromium } from 'playwright-core'
import { chromiumLaunchOptions } from './chromium.ts'
import type { BrowserContext, Page } from 'playwright-core'
import type { ApiResult, Peer } from './env.ts'
import type { LanServer } from './lan-server.ts'

// What the LAN tests share: devices that trust the local CA as their owner would make them,
// and the checks that they reach the server on its LAN address only.

/** The namespace's non-loopback address (scripts/in-netns.sh): the LAN server binds it. */
export const LAN_HOST = '10.77.0.1'

/**
 * An NSS database in `dir` (what Chromium reads under `$HOME/.pki/nssdb` and Firefox in its
 * profile, `cert9.db`) that trusts `caFile` to identify web sites when one is given: the
 * certutil line a device owner runs (or the certificate manager's "trust to identify websites").
 */
export async function trustingNssDb (dir: string, caFile?: string): Promise<void> {
  // A device opened again keeps the store it has (certutil -N would ask for its password).
  if (existsSync(join(dir, 'cert9.db'))) return
  await mkdir(dir, { recursive: true })
  execFileSync('certutil', ['-d', `sql:${dir}`, '-N', '--empty-password'])
  if (caFile != null) execFileSync('certutil', ['-d', `sql:${dir}`, '-A', '-t', 'C,,', '-n', 'lightcafe', '-i', caFile])
}

/** The CA as a new device gets it: downloaded from the setup page over plain HTTP, saved in `dir`. */
export async function downloadCa (server: LanServer, dir: string): Promise<{ pem: string, file: string }> {
  const res = await fetch(`${server.setupOrigin}/ca.pem`)
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toBe('application/x-pem-file')
  const pem = await res.text()
  expect(pem).toMatch(/^-----BEGIN CERTIFICATE-----/)
  const file = join(dir, 'lightcafe-ca.pem')
  await writeFile(file, pem)
  return { pem, file }
}

export interface DeviceOptions {
  /** The CA the device's owner installed; none: a device that does not trust it. */
  caFile?: string
  /** Collects every URL the device fetches or opens a WebSocket to, prefixed by its name. */
  seen?: string[]
  bypassCSP?: boolean
  /** The browser executable (a launcher that starts Chromium in a network namespace: e2e/netlab.ts). */
  executablePath?: string
  /** Keep Chromium's default of hiding local addresses behind mDNS names, as real phones do. */
  mdnsHiding?: boolean
}

/**
 * A Chromium profile as on its own device: its own HOME, whose NSS database trusts the CA
 * when `caFile` is given. Certificate errors are never ignored.
 */
export async function chromiumDevice (root: string, name: string, { caFile, seen, bypassCSP, executablePath, mdnsHiding }: DeviceOptions = {}): Promise<BrowserContext> {
  const home = join(root, `${name}-home`)
  await trustingNssDb(join(home, '.pki', 'nssdb'), caFile)
  const options = chromiumLaunchOptions()
  const args = mdnsHiding === true ? options.args?.filter(a => !a.includes('WebRtcHideLocalIpsWithMdns')) : options.args
  const context = await chromium.launchPersistentContext(join(root, `${name}-profile`), { ...options, args, ...(executablePath != null ? { executablePath } : {}), bypassCSP, env: { ...process.env, HOME: home } })
  const watch = (page: Page): void => { page.on('websocket', ws => seen?.push(`${name} ws ${ws.url()}`)) }
  context.pages().forEach(watch)
  context.on('page', watch)
  context.on('request', req => seen?.push(`${name} ${req.url()}`))
  return context
}

/** What `seen` holds on loopback: it must be nothing for a device that is not the host. */
export function onLoopback (seen: string[]): string[] {
  return seen.filter(u => /127\.0\.0\.1|localhost|\[::1\]/.test(u))
}

/** A peer in any browser: its name and the local API through its service worker. */
export interface ApiPeer { name: string, api: (method: string, path: string, body?: unknown) => Promise<ApiResult> }

/** Every relay of the peer is a WSS one on the LAN address, connected with a reservation. */
export async function onlineOverWss (peer: ApiPeer, timeout = 45_000): Promise<void> {
  await expect.poll(async () => {
    const relays = (await peer.api('GET', '/api/v0/peer')).body.relays as Array<{ multiaddr: string, connected: boolean, reserved: boolean }>
    return relays.length > 0 && relays.every(r => r.connected && r.reserved && r.multiaddr.startsWith(`/ip4/${LAN_HOST}/`) && r.multiaddr.includes('/tls/ws/'))
  }, { timeout, message: `${peer.name} online over wss` }).toBe(true)
}

/** The peer reaches `peerId` over a direct WebRTC connection, not the relayed one. */
export async function directTo (peer: ApiPeer, peerId: string): Promise<void> {
  await expect.poll(async () => ((await peer.api('GET', '/api/v0/connections')).body as any[]).some(c => c.peerId === peerId && c.transport === 'webrtc' && c.direct), { message: `${peer.name} direct WebRTC to ${peerId}` }).toBe(true)
}

/** Clicks the cafe's invite button and reads the link from its screen (a new one each time). */
export async function inviteFromScreen (cafe: Peer, previous?: string): Promise<string> {
  await cafe.page.getByTestId('invite').click()
  const link = cafe.page.getByTestId('invite-link')
  await expect(link).toHaveAttribute('href', /#join=/)
  if (previous != null) await expect(link).not.toHaveAttribute('href', previous)
  return (await link.getAttribute('href'))!
}
