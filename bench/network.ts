import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Peer } from '../e2e/env.ts'
import { makeCafe, newToken } from '../e2e/helpers.ts'
import { median, round } from './stats.ts'
import type { Env } from '../e2e/env.ts'
import type { Browser } from 'playwright-core'

/**
 * The `network` group (issue 25): what a user waits for when the other end is new, away, or
 * just back. Only the local API and page globals every version has, so the same file measures
 * a build before and after a change.
 *
 * - newContactMessageMs: POST /api/v0/messages to an online account whose contact is not
 *   cached yet (looked up at the sender's cafe and connected peers), in steady state (the
 *   sender's relay connection older than 3 s), and whether that connection survived the lookup
 *   (the same connection id before and after).
 * - offlineMessageMs: the same to an account whose profile is closed (contact cached): the
 *   message goes to its inbox cafe. `withUnreachableRelay`: from a sender that also lists a
 *   relay it cannot reach (10.77.0.3: no host there in the bench's namespace).
 * - backAfterOffline: the cafe's page offline (Chromium's network emulation: the `offline`
 *   event, new WebSockets fail; its relay connection dies when the relay's pings go
 *   unanswered) until its relay is lost and it has failed to redial a few times; then online.
 *   The cafe stays offline until its 5th failed redial (~30 s, as the issue's cut), then goes
 *   online. From `online`: its relay reserved again, a new client's registration answered 201 (tried
 *   again at once after each failure, as a user pressing Retry), and a message another peer
 *   queued while the cafe was away held in the cafe's inbox.
 */
export async function networkFigures (browser: Browser, env: Env, samples = { newContact: 3, offline: 5 }): Promise<Record<string, unknown>> {
  const opened: Peer[] = []
  const open = async (name: string, url?: string): Promise<Peer> => { const p = await Peer.open(browser, env, name, env.web.url, url != null ? { url } : {}); opened.push(p); return p }
  const profileDir = await mkdtemp(join(tmpdir(), 'lightcafe-bench-net-'))
  try {
    const cafe = await open('net-cafe')
    const { peerId: cafeId } = await makeCafe(cafe)
    const sender = await open('net-sender')
    const reg = await sender.api('POST', '/api/v0/cafes', { cafe: cafeId, token: await newToken(cafe) })
    if (reg.status !== 201) throw new Error(`sender's registration failed: ${JSON.stringify(reg.body)}`)
    const relayConnections = async (p: Peer): Promise<Array<{ id: string, ageMs: number }>> => p.page.evaluate(() => {
      const node = (globalThis as any).lightcafe.peer.node
      const relays = new Set((node.relays.state() as Array<{ multiaddr: string }>).map(r => r.multiaddr.split('/p2p/').at(-1)))
      return (node.libp2p.getConnections() as any[]).filter(c => relays.has(c.remotePeer.toString())).map(c => ({ id: String(c.id), ageMs: Date.now() - c.timeline.open }))
    })
    /** Waits (bounded) until the sender's relay connection is older than the 3 s stream-open rule, as in steady use. */
    const settled = async (p: Peer): Promise<string[]> => {
      const until = Date.now() + 30_000
      for (;;) {
        const conns = await relayConnections(p)
        if ((conns.length > 0 && conns.every(c => c.ageMs > 3_500)) || Date.now() > until) return conns.map(c => c.id)
        await new Promise(resolve => setTimeout(resolve, 200))
      }
    }
    const send = async (from: Peer, to: string, body: string): Promise<{ ms: number, status: number, route?: string }> => from.page.evaluate(async ({ to, body }) => {
      const t = performance.now()
      const res = await fetch('/api/v0/messages', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ to, body }) })
      const json = await res.json().catch(() => ({}))
      return { ms: performance.now() - t, status: res.status, route: json.route }
    }, { to, body })

    // New contacts: each a fresh account registered at the sender's cafe, its profile published there.
    const newContact: Array<{ ms: number, route?: string, relayConnectionKept: boolean }> = []
    for (let i = 0; i < samples.newContact; i++) {
      const r = await open(`net-recipient-${i}`)
      await r.reachable()
      const rr = await r.api('POST', '/api/v0/cafes', { cafe: cafeId, token: await newToken(cafe) })
      if (rr.status !== 201) throw new Error(`recipient's registration failed: ${JSON.stringify(rr.body)}`)
      const address = (await r.api('PUT', '/api/v0/profile', { name: `R${i}` })).body.address as string
      const before = await settled(sender)
      const sent = await send(sender, address, `hello ${i}`)
      // Give a reconnect (had the lookup cost the relay connection) time to show.
      await new Promise(resolve => setTimeout(resolve, 1_000))
      const after = (await relayConnections(sender)).map(c => c.id)
      newContact.push({ ms: round(sent.ms), route: sent.route ?? `http ${sent.status}`, relayConnectionKept: before.length > 0 && after.join() === before.join() })
    }

    // An offline recipient: a profile on disk, registered and published, then closed.
    let bob = await Peer.openPersistent(env, 'net-bob', profileDir)
    opened.push(bob)
    await bob.reachable()
    const br = await bob.api('POST', '/api/v0/cafes', { cafe: cafeId, token: await newToken(cafe) })
    if (br.status !== 201) throw new Error(`bob's registration failed: ${JSON.stringify(br.body)}`)
    const bobAddr = (await bob.api('PUT', '/api/v0/profile', { name: 'Bob' })).body.address as string
    const bobId = (await bob.api('GET', '/api/v0/peer')).body.peerId as string
    if ((await sender.api('GET', `/api/v0/contacts/${bobAddr}`)).status !== 200) throw new Error('no contact for bob')
    await bob.close()
    const offline: Array<{ ms: number, route?: string }> = []
    for (let i = 0; i < samples.offline; i++) {
      const sent = await send(sender, bobAddr, `while away ${i}`)
      offline.push({ ms: round(sent.ms), route: sent.route ?? `http ${sent.status}` })
    }
    // A sender that also lists a relay it cannot reach.
    const dead = `/ip4/10.77.0.3/tcp/4999/ws/p2p/${peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()}`
    const far = await open('net-far-sender', `${env.web.url}/?${[...env.relay.multiaddrs, dead].map(r => `relay=${encodeURIComponent(r)}`).join('&')}`)
    await far.reachable()
    const fr = await far.api('POST', '/api/v0/cafes', { cafe: cafeId, token: await newToken(cafe) })
    if (fr.status !== 201) throw new Error(`the far sender's registration failed: ${JSON.stringify(fr.body)}`)
    if ((await far.api('GET', `/api/v0/contacts/${bobAddr}`)).status !== 200) throw new Error('no contact for bob')
    const offlineFar: Array<{ ms: number, route?: string }> = []
    for (let i = 0; i < samples.offline; i++) {
      const sent = await send(far, bobAddr, `while away, from afar ${i}`)
      offlineFar.push({ ms: round(sent.ms), route: sent.route ?? `http ${sent.status}` })
    }

    // Back after the cafe's network was away. Alice has never been connected to the cafe (a
    // direct WebRTC connection would survive the emulation); she learns Bob's contact from Bob
    // himself while he is online.
    bob = await Peer.openPersistent(env, 'net-bob', profileDir)
    opened.push(bob)
    await bob.reachable()
    const alice = await open('net-alice')
    await alice.reachable()
    await alice.page.evaluate(async (id) => { await (await (globalThis as any).lightcafe.peer.rawCafeFetch(id, new Request('http://peer/client/v1/contact'))).arrayBuffer() }, bobId)
    if ((await alice.api('GET', `/api/v0/contacts/${bobAddr}`)).status !== 200) throw new Error('alice has no contact for bob')
    await bob.close()
    const newcomer = await open('net-newcomer')
    await newcomer.reachable()
    const token = await newToken(cafe)
    const inboxOf = async (): Promise<number> => ((await cafe.api('GET', '/api/v0/clients')).body as any[]).find(c => c.address === bobAddr)?.inbox ?? 0
    const held = await inboxOf()
    const relayOf = async (): Promise<{ connected: boolean, reserved: boolean, attempts: number }> => cafe.page.evaluate(() => (globalThis as any).lightcafe.peer.node.relays.state()[0])
    await cafe.context.setOffline(true)
    const cutAt = Date.now()
    for (let s = relayOf(); ; s = relayOf()) {
      const st = await s
      if (!st.connected && st.attempts >= 5) break
      if (Date.now() - cutAt > 120_000) throw new Error('the cafe kept its relay while offline')
      await new Promise(resolve => setTimeout(resolve, 200))
    }
    const queued = await send(alice, bobAddr, 'queued while the cafe was away')
    const offlineForMs = Date.now() - cutAt
    await cafe.context.setOffline(false)
    const back = Date.now()
    let reservedMs: number | undefined
    let registeredMs: number | undefined
    let queuedHeldMs: number | undefined
    let attempts = 0
    while ((reservedMs == null || registeredMs == null || queuedHeldMs == null) && Date.now() - back < 120_000) {
      if (reservedMs == null && (await relayOf()).reserved) reservedMs = Date.now() - back
      if (queuedHeldMs == null && await inboxOf() > held) queuedHeldMs = Date.now() - back
      if (registeredMs == null) {
        attempts++
        const r = await newcomer.api('POST', '/api/v0/cafes', { cafe: cafeId, token })
        if (r.status === 201) registeredMs = Date.now() - back
      }
      await new Promise(resolve => setTimeout(resolve, 50))
    }
    return {
      newContactMessageMs: { median: round(median(newContact.map(s => s.ms))), all: newContact },
      offlineMessageMs: { median: round(median(offline.map(s => s.ms))), all: offline, withUnreachableRelay: { median: round(median(offlineFar.map(s => s.ms))), all: offlineFar } },
      backAfterOffline: {
        offlineForMs,
        queuedRoute: queued.route ?? `http ${queued.status}`,
        cafeRelayReservedMs: reservedMs ?? null,
        newClientRegisteredMs: registeredMs ?? null,
        registrationAttempts: attempts,
        queuedMessageInCafeInboxMs: queuedHeldMs ?? null
      }
    }
  } finally {
    await Promise.allSettled(opened.map(async p => { await p.close() }))
    await rm(profileDir, { recursive: true, force: true })
  }
}
