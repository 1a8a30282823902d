import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test } from '@playwright/test'
import { Peer } from './env.ts'
import { makeCafe, show } from './helpers.ts'
import { ADDR, buildInternet } from './internet.ts'
import { chromiumDevice, inviteFromScreen } from './lan-device.ts'
import { startPublicServers } from './public-servers.ts'
import type { BrowserContext } from 'playwright-core'
import type { Internet } from './internet.ts'
import type { Netns } from './netlab.ts'
import type { PublicServers } from './public-servers.ts'

// A public deployment (static app over HTTPS, `npm run relay` over WSS with coturn beside it),
// the cafe tablet at home behind a NAT, and phones on other networks: each device its own
// Chromium process in its own network namespace, trusting the test CA in its own NSS store.
// LIGHTCAFE_NAT_BULK_MIB=20 also times a backup of that size per path (docs/TESTING.md).

const bulkMiB = Number(process.env.LIGHTCAFE_NAT_BULK_MIB ?? 0)

interface Device { name: string, ns: Netns, peer: Peer, context: BrowserContext }

/** Every ICE candidate pair of the device's WebRTC connections, with its state (for failure reports). */
async function pairs (d: Device): Promise<unknown> {
  return d.peer.page.evaluate(async () => {
    const out: unknown[] = []
    for (const c of (globalThis as any).lightcafe.peer.node.libp2p.getConnections()) {
      const pc = c.maConn?.peerConnection
      if (pc == null) continue
      const st = await pc.getStats(); const m = new Map(); st.forEach((x: any) => m.set(x.id, x))
      for (const x of m.values()) if (x.type === 'candidate-pair') { const l = m.get(x.localCandidateId); const r = m.get(x.remoteCandidateId); out.push(`${l.candidateType} ${l.address}:${l.port}/${l.protocol} -> ${r.candidateType} ${r.address}:${r.port} ${x.state} nom=${x.nominated} req=${x.requestsSent} resp=${x.responsesReceived}`) }
    }
    return out
  })
}

/** Stores `size` random bytes as a file on the device (incompressible, unlike zeros) and returns its CID. */
async function storeRandom (d: Device, size: number): Promise<string> {
  return d.peer.page.evaluate(async (size) => {
    const bytes = new Uint8Array(size)
    for (let i = 0; i < size; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536))
    return (await (await fetch('/api/v0/files', { method: 'POST', body: bytes })).json()).cid as string
  }, size)
}

test('across networks: phones behind a cone NAT and a symmetric NAT use the home cafe as a phone on its Wi-Fi does (srflx and TURN paths), back up, and message online and through the inbox', async () => {
  test.setTimeout(480_000)
  const root = await mkdtemp(join(tmpdir(), 'lightcafe-nat-'))
  let net: Internet | undefined
  let servers: PublicServers | undefined
  const contexts: BrowserContext[] = []
  try {
    net = await buildInternet(root, [443])
    servers = await startPublicServers(net.public, root)
    const { appOrigin, caFile } = servers
    // Real phones hide their local addresses behind mDNS names; the LAN phone and the cafe do too.
    const device = async (name: string, ns: Netns, url = appOrigin): Promise<Device> => {
      const context = await chromiumDevice(root, name, { caFile, executablePath: await net!.lab.chromiumIn(ns), mdnsHiding: true })
      contexts.push(context)
      return { name, ns, context, peer: await Peer.attach(context, name, url) }
    }
    const online = async (d: Device): Promise<void> => {
      await expect.poll(async () => ((await d.peer.api('GET', '/api/v0/peer')).body.relays as any[]).map(r => r.connected && r.reserved), { timeout: 45_000, message: `${d.name} reserved on the relay` }).toEqual([true])
    }

    const cafe = await device('cafe', net.cafe)
    await online(cafe)
    const { peerId: cafeId } = await makeCafe(cafe.peer)
    // The relay gave it STUN and TURN (with a credential of its own, never shown).
    await expect.poll(async () => (await cafe.peer.api('GET', '/api/v0/peer')).body.iceServers).toEqual(expect.arrayContaining([`stun:${ADDR.relay}:3478`, `turn:${ADDR.relay}:3478?transport=udp`]))
    await expect(cafe.peer.page.getByTestId('reach-outside')).toContainText('through a TURN server')

    const figures: Record<string, Record<string, number | string>> = {}
    let lastInvite: string | undefined
    const joinCafe = async (name: string, ns: Netns): Promise<Device> => {
      const href = await inviteFromScreen(cafe.peer, lastInvite)
      lastInvite = href
      expect(href.startsWith(`${appOrigin}/`)).toBe(true)
      const d = await device(name, ns)
      await online(d)
      const start = Date.now()
      await d.peer.page.goto(href)
      await d.peer.ready()
      await expect.poll(async () => ((await d.peer.api('GET', '/api/v0/cafes')).body as any[]).map(c => c.id), { timeout: 60_000, message: `${name} registered` }).toEqual([cafeId]).catch(async (err: Error) => {
        // What the guest saw and the ICE pairs both ends tried, for the failure's report.
        console.log(`[nat] ${name} page: ${(await d.peer.page.locator('body').innerText()).slice(0, 1500)}`)
        console.log(`[nat] ICE pairs ${name}: ${JSON.stringify(await pairs(d))}; cafe: ${JSON.stringify(await pairs(cafe))}`)
        throw err
      })
      figures[name] = { registerMs: Date.now() - start }
      const pinStart = Date.now()
      const cid = await storeRandom(d, 100 * 1024)
      expect((await d.peer.api('POST', '/api/v0/backups', { cid })).status).toBe(202)
      await expect.poll(async () => {
        const res = await d.peer.api('GET', `/api/v0/backups/${cid}`)
        return res.status === 200 ? res.body.cafes[0]?.status : `http ${res.status}`
      }, { timeout: 60_000, message: `${name} 100 KiB pinned` }).toBe('pinned')
      figures[name].first100KiBPinnedMs = Date.now() - pinStart
      return d
    }
    /** The path this device's connection to the cafe takes, as GET /api/v0/connections names it. */
    const pathTo = async (d: Device): Promise<{ path: string, candidates?: string }> => {
      const conns = ((await d.peer.api('GET', '/api/v0/connections')).body as any[]).filter(c => c.peerId === cafeId)
      // The best one open (a WebRTC connection, if any, beside the relayed one that signalled it).
      return ['direct', 'nat', 'turn', 'relay'].flatMap(p => conns.filter(c => c.path === p))[0] ?? { path: 'none' }
    }

    /** Backs up `bulkMiB` of random bytes; MB/s from the backup asked to pinned. */
    const bulkBackup = async (d: Device): Promise<number> => {
      const cid = await storeRandom(d, bulkMiB * 1024 * 1024)
      const start = Date.now()
      expect((await d.peer.api('POST', '/api/v0/backups', { cid })).status).toBe(202)
      await expect.poll(async () => (await d.peer.api('GET', `/api/v0/backups/${cid}`)).body?.cafes?.[0]?.status, { timeout: 300_000, intervals: [250] }).toBe('pinned')
      return Number((bulkMiB * 1.048576 / ((Date.now() - start) / 1000)).toFixed(2))
    }

    let lanPhone: Device | undefined
    let conePhone: Device | undefined
    let symPhone: Device | undefined
    await test.step('a phone on the home Wi-Fi registers and backs up, over a direct LAN path', async () => {
      lanPhone = await joinCafe('lan-phone', net!.lanPhone)
      expect((await pathTo(lanPhone)).path).toBe('direct')
    })
    await test.step('a phone behind a cone NAT does the same, straight through both NATs (srflx)', async () => {
      conePhone = await joinCafe('cone-phone', net!.conePhone)
      // ICE may take a TURN pair that answers first, then moves to the straight pair once its holes are punched.
      await expect.poll(async () => (await pathTo(conePhone!)).path, { timeout: 30_000 }).toBe('nat')
      expect((await pathTo(conePhone)).candidates).toMatch(/srflx|prflx/)
    })
    await test.step('a phone behind a symmetric NAT does the same, through TURN', async () => {
      symPhone = await joinCafe('sym-phone', net!.symPhone)
      const p = await pathTo(symPhone)
      expect(p.path, JSON.stringify(p)).toBe('turn')
      expect(p.candidates).toContain('relay')
      // The cafe says so too, in its connections and on its overview.
      await expect(cafe.peer.page.getByTestId('reach-paths')).toContainText('TURN')
    })
    await test.step('a phone on a network that passes no UDP and only web ports registers and backs up through the relay (the last resort), and says so', async () => {
      const webOnly = await joinCafe('web-only-phone', net!.strictPhone)
      expect((await pathTo(webOnly)).path).toBe('relay')
      // My cafes names it (the guest lands there from the invitation).
      await show(webOnly.peer, 'cafes')
      await expect(webOnly.peer.page.getByTestId('cafe-health')).toContainText('through the relay')
      figures['web-only-phone'].path = 'relay'
      if (bulkMiB > 0) figures['web-only-phone'].bulkMBps = await bulkBackup(webOnly)
      await webOnly.context.close()
      contexts.splice(contexts.indexOf(webOnly.context), 1)
    })
    for (const [name, p] of [['lan-phone', lanPhone!], ['cone-phone', conePhone!], ['sym-phone', symPhone!]] as const) figures[name].path = (await pathTo(p)).path

    const addressOf = async (d: Device): Promise<string> => (await d.peer.api('GET', '/api/v0/account')).body.address
    const inbox = async (d: Device): Promise<string[]> => ((await d.peer.api('GET', '/api/v0/messages')).body as any[]).map(m => m.body)
    const send = async (from: Device, to: string, body: string): Promise<void> => {
      const res = await from.peer.api('POST', '/api/v0/messages', { to, body })
      expect(res.status, JSON.stringify(res.body)).toBe(202)
    }
    for (const d of [lanPhone!, conePhone!, symPhone!]) expect((await d.peer.api('PUT', '/api/v0/profile', { name: d.name })).status).toBe(200)
    const lanAddr = await addressOf(lanPhone!)

    await test.step('messages both ways between the LAN phone and each phone away, while all are online', async () => {
      for (const away of [conePhone!, symPhone!]) {
        await send(away, lanAddr, `hello from ${away.name}`)
        await send(lanPhone!, await addressOf(away), `hello back to ${away.name}`)
        await expect.poll(async () => inbox(lanPhone!), { timeout: 60_000 }).toContain(`hello from ${away.name}`)
        await expect.poll(async () => inbox(away), { timeout: 60_000 }).toContain(`hello back to ${away.name}`)
      }
    })

    await test.step('while the LAN phone is off, messages to it wait in the cafe\'s inbox and reach it when it returns', async () => {
      await lanPhone!.context.close()
      contexts.splice(contexts.indexOf(lanPhone!.context), 1)
      for (const away of [conePhone!, symPhone!]) await send(away, lanAddr, `while you were away, from ${away.name}`)
      // Both are held at the cafe (the phones' outboxes emptied into its inbox).
      await expect.poll(async () => ((await cafe.peer.api('GET', '/api/v0/clients')).body as any[]).reduce((n, c) => n + (c.inbox as number), 0), { timeout: 60_000 }).toBeGreaterThanOrEqual(2)
      lanPhone = await device('lan-phone', net!.lanPhone)
      await expect.poll(async () => inbox(lanPhone!), { timeout: 60_000 }).toEqual(expect.arrayContaining(['while you were away, from cone-phone', 'while you were away, from sym-phone']))
    })

    if (bulkMiB > 0) {
      await test.step(`bulk: a ${bulkMiB} MiB backup per path`, async () => {
        for (const d of [lanPhone!, conePhone!, symPhone!]) figures[d.name].bulkMBps = await bulkBackup(d)
      })
    }
    await test.step('the cafe\'s network is cut for 30 s: a client\'s call succeeds within 3 s of its return', async () => {
      net!.lab.setLink(net!.cafeLink, false)
      await new Promise(resolve => setTimeout(resolve, 30_000))
      net!.lab.setLink(net!.cafeLink, true)
      const back = Date.now()
      const res = await conePhone!.peer.api('POST', `/api/v0/cafes/${cafeId}/refresh`)
      figures.cut = { callAfterReturnMs: Date.now() - back, status: res.status }
      expect(res.status, JSON.stringify(res.body)).toBe(200)
      expect(Date.now() - back).toBeLessThan(3_000)
    })
    console.log(`[nat] ${JSON.stringify(figures)}`)

    // Neither the TURN secret nor a credential shows in coturn's log or the relay's output.
    const secret = (await readFile(join(root, 'relay-state', 'turn', 'secret'), 'utf8')).trim()
    const held = await symPhone!.peer.page.evaluate(() => (globalThis as any).lightcafe.peer.node.ice.current().map((s: { credential?: string }) => s.credential).filter(Boolean) as string[])
    expect(held.length).toBeGreaterThan(0)
    const log = await readFile(servers.turnLog, 'utf8')
    expect(log).toContain(`relay ${ADDR.relay} initialization done`) // the log coturn writes…
    for (const s of [secret, ...held]) {
      expect(log).not.toContain(s) // …never holds the secret or a credential,
      expect(servers.relay.output.join('\n')).not.toContain(s) // nor does the relay's output
    }
  } finally {
    await Promise.allSettled(contexts.map(async c => { await c.close() }))
    await servers?.stop()
    net?.destroy()
    await rm(root, { recursive: true, force: true })
  }
})
