import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, Peer, test as base } from './fixtures.ts'
import { makeCafe } from './helpers.ts'
import { FirefoxBrowser, FirefoxPeer } from './firefox.ts'
import { LAN_HOST as HOST, chromiumDevice, directTo, downloadCa, inviteFromScreen, onLoopback, onlineOverWss } from './lan-device.ts'
import { LAN_PORTS, LanServer } from './lan-server.ts'
import type { BrowserContext } from 'playwright-core'

// Firefox ESR (WebDriver BiDi, puppeteer-core) beside Chromium: the same app, service worker,
// IndexedDB and WebRTC, another engine. As a client over HTTPS from the LAN address (as a
// phone would open it), and as a cafe over http://127.0.0.1.
const test = base.extend<{ firefox: FirefoxBrowser, firefoxPrefs: Record<string, boolean> }>({
  firefoxPrefs: [{}, { option: true }],
  firefox: async ({ firefoxPrefs }, use) => {
    const firefox = await FirefoxBrowser.launch({ prefs: firefoxPrefs })
    await use(firefox)
    await firefox.close()
  }
})

const KiB = 1024

test('a Firefox client that trusts the LAN CA in its own profile opens the HTTPS app from the LAN address, joins a Chromium cafe by its invitation link, backs up a file and exchanges messages over direct WebRTC', async () => {
  test.setTimeout(180_000)
  // The server as `npm start -- --lan` runs it, on the namespace's non-loopback address; every
  // device trusts its CA the way an owner installs it (Chromium: $HOME/.pki/nssdb; Firefox:
  // the profile's cert9.db), never by ignoring certificate errors.
  const root = await mkdtemp(join(tmpdir(), 'lightcafe-firefox-lan-'))
  const server = new LanServer(HOST, join(root, 'state'))
  const contexts: BrowserContext[] = []
  const seen: string[] = []
  let firefox: FirefoxBrowser | undefined
  try {
    await server.start()
    const { file: caFile } = await downloadCa(server, root)
    const lanPeer = async (name: string): Promise<Peer> => {
      const ctx = await chromiumDevice(root, name, { caFile, seen })
      contexts.push(ctx)
      return Peer.attach(ctx, name, server.httpsOrigin)
    }
    const cafe = await lanPeer('cafe')
    const { peerId: cafeId } = await makeCafe(cafe)
    // Remote settings at a closed port of the LAN address: the profile names nothing on loopback.
    firefox = await FirefoxBrowser.launch({ caFile, prefs: { 'services.settings.server': `http://${HOST}:9/v1` } })

    // The invitation as the owner's screen shows it, opened in Firefox.
    const href = await inviteFromScreen(cafe)
    // Through the setup page, which goes on to the HTTPS app once it sees the CA trusted.
    expect(href.startsWith(`${server.setupOrigin}/setup?relay=`)).toBe(true)
    const opened = Date.now()
    const fox = await FirefoxPeer.open(firefox, 'firefox', href, seen, server.httpsOrigin)
    const readyAt = Date.now()
    const timings = await fox.page.evaluate(() => (globalThis as any).lightcafe.timings as Record<string, number>)
    expect(await fox.page.evaluate(() => navigator.userAgent)).toMatch(/Firefox\/\d+/)
    expect(await fox.page.evaluate(() => [location.origin, isSecureContext, navigator.serviceWorker.controller?.scriptURL])).toEqual([server.httpsOrigin, true, `${server.httpsOrigin}/sw.js`])
    await onlineOverWss(fox)

    // The link registered this profile with the cafe: a session on both sides.
    let joinedAt = 0
    await expect.poll(async () => {
      const mine = (await fox.api('GET', '/api/v0/cafes')).body as Array<{ id: string }>
      if (mine.some(s => s.id === cafeId) && joinedAt === 0) joinedAt = Date.now()
      return mine.map(s => s.id)
    }, { timeout: 30_000, intervals: [100] }).toEqual([cafeId])
    const address = (await fox.api('GET', '/api/v0/account')).body.address as string
    expect(((await cafe.api('GET', '/api/v0/clients')).body as any[]).map(c => c.address)).toEqual([address])
    // ...and the guest is told so on screen.
    await fox.page.waitForFunction(() => document.querySelector('[data-testid="joined"]')?.textContent?.startsWith('You joined ') === true, { timeout: 20_000, polling: 100 })
    await directTo(fox, cafeId)

    // A file: stored through the service worker (a request body), backed up, pinned at the cafe.
    const file = await fox.page.evaluate(async (size: number) => {
      const data = new Uint8Array(size)
      for (let i = 0; i < size; i++) data[i] = (i * 31 + (i >> 8)) & 0xff
      const res = await fetch('/api/v0/files', { method: 'POST', body: data })
      const sha = [...new Uint8Array(await crypto.subtle.digest('SHA-256', data))].map(b => b.toString(16).padStart(2, '0')).join('')
      return { status: res.status, cid: ((await res.json()) as { cid: string }).cid, sha }
    }, 300 * KiB)
    expect(file.status).toBe(201)
    const backedUpFrom = Date.now()
    const started = await fox.api('POST', '/api/v0/backups', { cid: file.cid })
    expect(started.status, JSON.stringify(started.body)).toBe(202)
    await expect.poll(async () => ((await fox.api('GET', `/api/v0/backups/${file.cid}`)).body as any)?.cafes?.[0]?.status, { timeout: 60_000, intervals: [200] }).toBe('pinned')
    const pinnedAt = Date.now()
    const held = ((await cafe.api('GET', '/api/v0/clients')).body as any[]).find(c => c.address === address)
    expect(held.pins).toBe(1)
    expect(held.bytes).toBeGreaterThan(300 * KiB) // ciphertext: the file plus headers and tags
    // The file reads back byte for byte (a streamed response through Firefox's service worker).
    const back = await fox.page.evaluate(async (cid: string) => {
      const res = await fetch(`/api/v0/files/${cid}`)
      const data = new Uint8Array(await res.arrayBuffer())
      return { status: res.status, bytes: data.length, sha: [...new Uint8Array(await crypto.subtle.digest('SHA-256', data))].map(b => b.toString(16).padStart(2, '0')).join('') }
    }, file.cid)
    expect(back).toEqual({ status: 200, bytes: 300 * KiB, sha: file.sha })

    // Messages both ways with a Chromium friend who joined the same cafe by its own link.
    const friend = await lanPeer('friend')
    await friend.page.goto(await inviteFromScreen(cafe, href))
    await friend.page.waitForURL(u => u.origin === server.httpsOrigin, { timeout: 30_000 })
    await friend.ready()
    await expect.poll(async () => ((await friend.api('GET', '/api/v0/cafes')).body as any[]).map(c => c.id), { timeout: 45_000 }).toEqual([cafeId])
    const friendAddr = (await friend.api('GET', '/api/v0/account')).body.address as string
    expect((await friend.api('PUT', '/api/v0/profile', { name: 'Friend' })).status).toBe(200)
    const profile = await fox.api('PUT', '/api/v0/profile', { name: 'Fox' })
    expect(profile.status, JSON.stringify(profile.body)).toBe(200)
    expect(profile.body.published).toEqual([cafeId])

    const sent = await fox.api('POST', '/api/v0/messages', { to: friendAddr, body: 'hello from Firefox' })
    expect(sent.status, JSON.stringify(sent.body)).toBe(202)
    expect(sent.body.route).toBe('direct')
    await expect.poll(async () => ((await friend.api('GET', '/api/v0/messages')).body as any[]).map(m => [m.from, m.body])).toEqual([[address, 'hello from Firefox']])
    const reply = await friend.api('POST', '/api/v0/messages', { to: address, body: 'hello from Chromium' })
    expect(reply.status, JSON.stringify(reply.body)).toBe(202)
    expect(reply.body.route).toBe('direct')
    await expect.poll(async () => ((await fox.api('GET', '/api/v0/messages')).body as any[]).map(m => [m.from, m.body])).toEqual([[friendAddr, 'hello from Chromium']])
    await directTo(fox, (await friend.api('GET', '/api/v0/peer')).body.peerId as string)

    // Firefox dialled the relay over WSS on the LAN address, and nothing any browser fetched or dialled was on loopback.
    expect(seen).toContain(`firefox https://${HOST}:${LAN_PORTS.wss}/`)
    expect(onLoopback(seen)).toEqual([])
    const toCafe = ((await fox.api('GET', '/api/v0/connections')).body as any[]).filter(c => c.peerId === cafeId)
    console.log(`[firefox-https] ${await firefox.version()}: page load → node started ${timings.peerMs} ms, → ready (SW in control) ${timings.readyMs} ms; ` +
      `invitation opened → ready ${readyAt - opened} ms, → registered ${joinedAt - opened} ms, → first backup (300 KiB) pinned ${pinnedAt - opened} ms (backup call → pinned ${pinnedAt - backedUpFrom} ms); ` +
      `cafe connections ${JSON.stringify(toCafe.map(c => ({ transport: c.transport, direct: c.direct })))}`)
  } finally {
    await firefox?.close()
    await Promise.allSettled(contexts.map(async c => { await c.close() }))
    await server.stop()
    await rm(root, { recursive: true, force: true })
  }
})

test('a Firefox tab is a cafe: a Chromium client registers and backs up to it over direct WebRTC', async ({ env, peers, firefox }) => {
  // The cafe's side of HTTP over libp2p in Firefox: request bodies (the challenge answer, a
  // CAR upload) arrive as streams that Firefox's Request cannot carry.
  test.setTimeout(120_000)
  const cafe = await FirefoxPeer.open(firefox, 'firefox-cafe', env.web.url + '/')
  const on = await cafe.api('PUT', '/api/v0/cafe', { enabled: true, name: 'Firefox cafe' })
  expect(on.status, JSON.stringify(on.body)).toBe(200)
  const cafeId = on.body.peerId as string
  await expect.poll(async () => ((await cafe.api('GET', '/api/v0/peer')).body.multiaddrs as string[]).some(a => a.includes('/p2p-circuit/webrtc/'))).toBe(true)
  const token = await cafe.api('POST', '/api/v0/tokens')
  expect(token.status).toBe(201)

  const client = await peers('client')
  const regFrom = Date.now()
  const reg = await client.api('POST', '/api/v0/cafes', { cafe: cafeId, token: token.body.token })
  const regMs = Date.now() - regFrom
  expect(reg.status, JSON.stringify(reg.body)).toBe(201)
  const toCafe = ((await client.api('GET', '/api/v0/connections')).body as any[]).filter(c => c.peerId === cafeId)
  expect(toCafe.some(c => c.transport === 'webrtc' && c.direct), JSON.stringify(toCafe)).toBe(true)

  const size = 3_000_000
  const cid = await client.page.evaluate(async (size) => (await (await fetch('/api/v0/files', { method: 'POST', body: new Uint8Array(size).fill(9) })).json()).cid as string, size)
  const from = Date.now()
  expect((await client.api('POST', '/api/v0/backups', { cid })).status).toBe(202)
  await expect.poll(async () => ((await client.api('GET', `/api/v0/backups/${cid}`)).body as any)?.cafes?.[0]?.status, { timeout: 60_000, intervals: [200] }).toBe('pinned')
  const held = ((await cafe.api('GET', '/api/v0/clients')).body as any[])
  expect(held).toHaveLength(1)
  expect(held[0]).toMatchObject({ address: reg.body.address, pins: 1 })
  expect(held[0].bytes).toBeGreaterThan(size)
  console.log(`firefox cafe: Chromium client's registration call ${regMs} ms; 3 MB backup → pinned ${Date.now() - from} ms`)
})

test.describe('Firefox without service workers', () => {
  // What a private window of Firefox before service workers came to private browsing gets
  // (and any profile where a policy turns them off): the reason, not a blank page.
  test.use({ firefoxPrefs: { 'dom.serviceWorkers.privateBrowsing.enabled': false, 'browser.privatebrowsing.autostart': true } })

  test('a Firefox private window without service workers is told what does not work there, and the dashboard runs', async ({ env, firefox }) => {
    const page = await firefox.browser.newPage()
    await page.goto(env.web.url + '/', { waitUntil: 'load', timeout: 30_000 })
    expect(await page.evaluate(() => 'serviceWorker' in navigator)).toBe(false)
    await page.waitForFunction(() => /no service workers here/.test(document.querySelector('[data-testid="sw-problem"]')?.textContent ?? ''), { timeout: 20_000, polling: 100 })
    // The node and the dashboard run without it (they talk directly); the API for other apps does not.
    await page.waitForFunction(() => document.querySelector('[data-testid="title"]') != null, { timeout: 20_000, polling: 100 })
    expect(await page.evaluate(() => [(globalThis as any).lightcafe?.ready, typeof (globalThis as any).lightcafe?.swError])).toEqual([false, 'string'])
    await page.close()
  })
})
