import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test } from '@playwright/test'
import { Peer } from './env.ts'
import { axeViolations } from './a11y.ts'
import { makeCafe } from './helpers.ts'
import { LAN_HOST as HOST, chromiumDevice, directTo, downloadCa, inviteFromScreen, onLoopback, onlineOverWss } from './lan-device.ts'
import { LAN_PORTS, LanServer } from './lan-server.ts'
import type { BrowserContext } from 'playwright-core'

test('LAN mode: devices that trust the local CA load the app over HTTPS from the LAN address, pair by the invite link (through the setup page), back up and message over direct WebRTC, and reconnect over WSS after the relay restarts; one without the CA gets no app, and an invitation leads it to the setup page', async () => {
  test.setTimeout(300_000)
  const root = await mkdtemp(join(tmpdir(), 'lightcafe-lan-'))
  // Every address of the namespace (lc0 carries the default route, lc1 is a second interface).
  const server = new LanServer(HOST, join(root, 'state'), false)
  const contexts: BrowserContext[] = []
  const seen: string[] = []
  try {
    await server.start()
    // Two interfaces: each URL names its own, and devices are sent to the default route's.
    expect(server.output).toContain(`https://${HOST}:${LAN_PORTS.https}/        the app (lc0, default route)`)
    expect(server.output).toContain(`https://10.77.0.2:${LAN_PORTS.https}/        the app (lc1)`)
    expect(server.output).toContain(`The QR code and invitations use ${HOST} (lc0, default route)`)
    expect(server.output).toContain(`Scan to set up a phone or tablet (${server.setupOrigin}/setup)`)

    // What a new device sees first over plain HTTP: the setup page, and the CA to download.
    const setup = await fetch(`${server.setupOrigin}/setup`)
    expect(setup.status).toBe(200)
    expect(await setup.text()).toContain(`href="${server.httpsOrigin}/"`)
    const { pem: caPem, file: caFile } = await downloadCa(server, root)

    // A device without the CA: the HTTPS app does not load at all; over plain HTTP it gets the explanation.
    // (CSP bypassed for this profile only, so that axe can be injected into the script-free page.)
    const stranger = await chromiumDevice(root, 'stranger', { bypassCSP: true })
    contexts.push(stranger)
    const refusedPage = stranger.pages()[0] ?? await stranger.newPage()
    const refused = await refusedPage.goto(`${server.httpsOrigin}/`).then(() => 'loaded', (err: Error) => err.message)
    expect(refused).toMatch(/ERR_CERT_AUTHORITY_INVALID|ERR_CERT_/)
    expect(await refusedPage.evaluate(() => (globalThis as any).lightcafe?.ready === true).catch(() => false)).toBe(false)
    // The setup page in a tab of its own: Chromium commits the refused tab's error page
    // asynchronously, and that commit would interrupt a next navigation in the same tab.
    const strangerPage = await stranger.newPage()
    await strangerPage.goto(`${server.setupOrigin}/`)
    expect(strangerPage.url()).toBe(`${server.setupOrigin}/setup`)
    await expect(strangerPage.getByRole('heading', { level: 1 })).toHaveText('Set up this device for Lightcafe')
    await expect(strangerPage.getByRole('link', { name: 'Open Lightcafe over HTTPS' })).toHaveAttribute('href', `${server.httpsOrigin}/`)
    await expect(strangerPage.getByRole('status')).toHaveText('This device does not trust the CA yet: install it with the steps below.')
    // An invitation opened before the CA is trusted: the setup page, which keeps it for later.
    const invitation = `${server.setupOrigin}/setup?relay=${encodeURIComponent('/ip4/10.77.0.1/tcp/1/tls/ws')}#join=12D3KooWCafe&token=tok`
    await strangerPage.goto(invitation)
    await expect(strangerPage.getByRole('heading', { name: 'You were invited to a cafe' })).toBeVisible()
    await expect(strangerPage.getByRole('link', { name: 'Continue to the invitation' })).toHaveAttribute('href', `${server.httpsOrigin}/?relay=${encodeURIComponent('/ip4/10.77.0.1/tcp/1/tls/ws')}#join=12D3KooWCafe&token=tok`)
    await expect(strangerPage.getByRole('status')).toHaveText('This device does not trust the CA yet: install it with the steps below.')
    // The token is kept for the link, not in the plain-HTTP URL this tab's history keeps.
    expect(strangerPage.url()).toBe(invitation.slice(0, invitation.indexOf('#')))
    expect(await strangerPage.evaluate(() => location.hash)).toBe('')
    for (const scheme of ['light', 'dark'] as const) {
      await strangerPage.emulateMedia({ colorScheme: scheme })
      expect(await axeViolations(strangerPage), `setup page (${scheme})`).toEqual([])
    }
    await stranger.close()

    // The cafe: a tablet that trusts the CA opens the HTTPS app on the LAN address.
    const cafeCtx = await chromiumDevice(root, 'cafe', { caFile, seen })
    contexts.push(cafeCtx)
    const loadStart = Date.now()
    const cafe = await Peer.attach(cafeCtx, 'cafe', server.httpsOrigin)
    console.log(`[lan] cafe: page load to ready over HTTPS from ${HOST}: ${Date.now() - loadStart} ms`)
    expect(await cafe.page.evaluate(() => [location.origin, navigator.serviceWorker.controller?.scriptURL.startsWith(location.origin), isSecureContext])).toEqual([server.httpsOrigin, true, true])
    // Its relay list holds nothing on loopback: only the WSS relay on the LAN address.
    const served = await cafe.page.evaluate(async () => (await fetch('/relays.json')).json())
    expect(JSON.stringify(served)).not.toContain('127.0.0.1')
    expect(served.lan.origin).toBe(server.httpsOrigin)
    await onlineOverWss(cafe)
    const { peerId: cafeId } = await makeCafe(cafe)

    // Two guests, each from an invite link read from the cafe's screen.
    const guests: Peer[] = []
    let previous: string | undefined
    for (const name of ['phone-1', 'phone-2']) {
      const href = await inviteFromScreen(cafe, previous)
      previous = href
      // Through the setup page, which a device that trusts the CA passes straight through.
      expect(href.startsWith(`${server.setupOrigin}/setup?relay=`)).toBe(true)
      const ctx = await chromiumDevice(root, name, { caFile, seen })
      contexts.push(ctx)
      const start = Date.now()
      const guest = await Peer.attach(ctx, name, server.httpsOrigin)
      console.log(`[lan] ${name}: page load to ready over HTTPS from ${HOST}: ${Date.now() - start} ms`)
      const pairStart = Date.now()
      await guest.page.goto(href)
      await guest.page.waitForURL(url => url.origin === server.httpsOrigin, { timeout: 30_000 })
      await guest.ready()
      await expect.poll(async () => ((await guest.api('GET', '/api/v0/cafes')).body as any[]).map(c => c.id), { timeout: 45_000 }).toEqual([cafeId])
      console.log(`[lan] ${name}: invite link opened to registered: ${Date.now() - pairStart} ms`)
      if (guests.length === 0) {
        // The first guest backs up a file at once: pairing to first backup pinned.
        const cid = await guest.page.evaluate(async () => (await (await fetch('/api/v0/files', { method: 'POST', body: new Uint8Array(200_000).fill(5) })).json()).cid as string)
        expect((await guest.api('POST', '/api/v0/backups', { cid })).status).toBe(202)
        await expect.poll(async () => {
          const res = await guest.api('GET', `/api/v0/backups/${cid}`)
          return res.status === 200 ? res.body.cafes[0]?.status : `http ${res.status}`
        }, { timeout: 60_000 }).toBe('pinned')
        console.log(`[lan] ${name}: invite link opened to first backup pinned: ${Date.now() - pairStart} ms`)
      }
      // The guest reached the cafe over a direct WebRTC connection, not the relayed one.
      await directTo(guest, cafeId)
      guests.push(guest)
    }
    const [one, two] = guests
    const addressOf = async (p: Peer): Promise<string> => (await p.api('GET', '/api/v0/account')).body.address
    for (const g of guests) expect((await g.api('PUT', '/api/v0/profile', { name: g.name })).status).toBe(200)
    const sent = await one.api('POST', '/api/v0/messages', { to: await addressOf(two), body: 'hello over the LAN' })
    expect(sent.status, JSON.stringify(sent.body)).toBe(202)
    await expect.poll(async () => ((await two.api('GET', '/api/v0/messages')).body as any[]).map(m => m.body), { timeout: 45_000 }).toContain('hello over the LAN')

    // The relay (and the servers with it) restarts: same CA, and every device is back over WSS.
    await server.stop()
    const restart = Date.now()
    await server.start()
    expect(server.output).not.toContain('issued now') // the certificate on disk was kept
    expect(await (await fetch(`${server.setupOrigin}/ca.pem`)).text()).toBe(caPem)
    for (const p of [cafe, ...guests]) await onlineOverWss(p)
    console.log(`[lan] server restarted → all three reserved over WSS again: ${Date.now() - restart} ms`)
    const after = await two.api('POST', '/api/v0/messages', { to: await addressOf(one), body: 'back after the restart' })
    expect(after.status, JSON.stringify(after.body)).toBe(202)
    await expect.poll(async () => ((await one.api('GET', '/api/v0/messages')).body as any[]).map(m => m.body), { timeout: 45_000 }).toContain('back after the restart')

    // Nothing any device fetched or dialled was on loopback (the relay never offers its loopback address to them).
    expect(seen.some(u => u.includes(`ws wss://${HOST}:`))).toBe(true)
    expect(onLoopback(seen)).toEqual([])
  } finally {
    await Promise.allSettled(contexts.map(async c => { await c.close() }))
    await server.stop()
    await rm(root, { recursive: true, force: true })
  }
})

test('LAN mode keeps the app on http://127.0.0.1 for the host\'s own browser: it reserves on the loopback relay and learns the LAN origin to invite others to', async () => {
  const root = await mkdtemp(join(tmpdir(), 'lightcafe-lan-host-'))
  const server = new LanServer(HOST, join(root, 'state'))
  let context: BrowserContext | undefined
  try {
    await server.start()
    context = await chromiumDevice(root, 'host')
    const start = Date.now()
    const own = await Peer.attach(context, 'host', `http://127.0.0.1:${LAN_PORTS.http}`)
    console.log(`[lan] host's own browser: page load to ready over http://127.0.0.1: ${Date.now() - start} ms`)
    const served = await own.page.evaluate(async () => (await fetch('/relays.json')).json())
    expect(served.relays).toHaveLength(1)
    expect(served.relays[0]).toMatch(new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/${LAN_PORTS.relay}/ws/p2p/`))
    expect(served.lan.origin).toBe(server.httpsOrigin)
    expect(served.lan.relays).toEqual([served.relays[0].replace(`/ip4/127.0.0.1/tcp/${LAN_PORTS.relay}/ws`, `/ip4/${HOST}/tcp/${LAN_PORTS.wss}/tls/ws`)])
    expect(served.lan.setup).toBe(`http://${HOST}:${LAN_PORTS.http}/setup`)
    await expect.poll(async () => ((await own.api('GET', '/api/v0/peer')).body.relays as any[]).map(r => [r.multiaddr, r.connected, r.reserved]), { timeout: 45_000 }).toEqual([[served.relays[0], true, true]])
    // Its invitation gives other devices the LAN's https origin and wss relay, never loopback.
    await makeCafe(own)
    const href = await inviteFromScreen(own)
    expect(href.startsWith(`${server.setupOrigin}/setup?relay=`)).toBe(true)
    expect(new URL(href).searchParams.getAll('relay')).toEqual(served.lan.relays)
    expect(href).not.toContain('127.0.0.1')
  } finally {
    await context?.close()
    await server.stop()
    await rm(root, { recursive: true, force: true })
  }
})
