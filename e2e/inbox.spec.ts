import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { accountFromMnemonic, newMnemonic } from '../src/account/index.ts'
import { createEnvelope } from '../src/inbox/index.ts'
import { expect, test } from './fixtures.ts'
import { makeCafe, newToken, profileHolds, rawCafe, show } from './helpers.ts'
import type { Peer } from './env.ts'

const MARKER = 'LIGHTCAFE-INBOX-MARKER-93b2'

async function register (peer: Peer, cafe: Peer, cafeId: string): Promise<void> {
  const res = await peer.api('POST', '/api/v0/cafes', { cafe: cafeId, token: await newToken(cafe) })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
}

async function inboxOf (cafe: Peer, address: string): Promise<number> {
  return ((await cafe.api('GET', '/api/v0/clients')).body as any[]).find(c => c.address === address)?.inbox
}

async function received (peer: Peer): Promise<Array<{ id: string, from: string, body: string }>> {
  const res = await peer.api('GET', '/api/v0/messages')
  expect(res.status).toBe(200)
  return res.body
}

test('messages to a closed profile wait at both of its cafes as ciphertext and arrive exactly once when it returns, also after a cafe reload; an online recipient gets pushes', async ({ peers, profiles }) => {
  test.setTimeout(240_000)
  const cafe1 = await peers('cafe-1')
  const cafe2 = await peers('cafe-2')
  const alice = await peers('alice')
  let bob = await profiles('bob')
  const { peerId: cafe1Id } = await makeCafe(cafe1)
  const { peerId: cafe2Id } = await makeCafe(cafe2)
  await register(bob, cafe1, cafe1Id)
  await register(bob, cafe2, cafe2Id)
  await register(alice, cafe1, cafe1Id)
  const bobAddr = (await bob.api('GET', '/api/v0/account')).body.address as string
  const aliceAddr = (await alice.api('GET', '/api/v0/account')).body.address as string
  const profile = await bob.api('PUT', '/api/v0/profile', { name: 'Bob' })
  expect(profile.status, JSON.stringify(profile.body)).toBe(200)
  expect(profile.body.inboxes.sort()).toEqual([cafe1Id, cafe2Id].sort())
  expect(profile.body.published.sort()).toEqual([cafe1Id, cafe2Id].sort())

  // Alice finds Bob's contact at the cafe she knows, then Bob's profile closes.
  const contact = await alice.api('GET', `/api/v0/contacts/${bobAddr}`)
  expect(contact.status, JSON.stringify(contact.body)).toBe(200)
  expect(contact.body).toMatchObject({ address: bobAddr, name: 'Bob' })
  await bob.close()

  for (let i = 0; i < 3; i++) {
    const sent = await alice.api('POST', '/api/v0/messages', { to: bobAddr, body: `${MARKER} #${i}` })
    expect(sent.status, JSON.stringify(sent.body)).toBe(202)
    expect(sent.body.route).toBe('inbox')
  }
  await expect.poll(async () => inboxOf(cafe1, bobAddr)).toBe(3)
  await expect.poll(async () => inboxOf(cafe2, bobAddr)).toBe(3)
  expect((await profileHolds(cafe1, MARKER)).hits).toEqual([])
  expect((await profileHolds(cafe2, MARKER)).hits).toEqual([])

  // A cafe reloads while Bob is away: its inbox is on disk.
  await cafe1.reload()
  expect(await inboxOf(cafe1, bobAddr)).toBe(3)

  // Bob returns: each message once (two cafes hold copies), in order, and the cafes let go.
  bob = await profiles('bob')
  await expect.poll(async () => (await received(bob)).length, { timeout: 60_000 }).toBe(3)
  expect((await received(bob)).map(m => [m.from, m.body])).toEqual([0, 1, 2].map(i => [aliceAddr, `${MARKER} #${i}`]))
  await expect.poll(async () => inboxOf(cafe1, bobAddr)).toBe(0)
  await expect.poll(async () => inboxOf(cafe2, bobAddr)).toBe(0)
  const forced = await bob.api('POST', '/api/v0/cafes/messages')
  expect(forced.status).toBe(200)
  expect(forced.body.received).toBe(0)
  await bob.reload()
  expect((await received(bob)).length).toBe(3)

  // Bob online (reserved on the relay, so Alice can dial him; before that her message takes
  // the inbox route, which the cafe then pushes): Alice's message comes straight to him...
  await bob.reachable()
  const direct = await alice.api('POST', '/api/v0/messages', { to: bobAddr, body: 'online now?' })
  // On failure, say why the direct attempt failed (Alice's last delivery failure).
  expect(direct.body.route, JSON.stringify((await alice.api('GET', '/api/v0/messages/status')).body)).toBe('direct')
  await expect.poll(async () => (await received(bob)).map(m => m.body)).toContain('online now?')
  // ...and what reaches his cafe while he is online is pushed to him, with no check on his side.
  const sender = accountFromMnemonic(newMnemonic())
  const envelope = await createEnvelope(sender, contact.body, new TextEncoder().encode('pushed by the cafe'))
  const delivered = await rawCafe(alice, cafe2Id, 'POST', '/cafe/v1/inbox', envelope)
  expect(delivered.status, JSON.stringify(delivered.body)).toBe(202)
  await expect.poll(async () => (await received(bob)).map(m => m.body)).toContain('pushed by the cafe')
  await expect.poll(async () => inboxOf(cafe2, bobAddr)).toBe(0)
})

test('a burst of 200 messages to a closed profile arrives complete and in order', async ({ peers, profiles }) => {
  test.setTimeout(240_000)
  const cafe = await peers('cafe')
  const alice = await peers('alice')
  let bob = await profiles('bob-burst')
  const { peerId: cafeId } = await makeCafe(cafe)
  await register(bob, cafe, cafeId)
  await register(alice, cafe, cafeId)
  const bobAddr = (await bob.api('GET', '/api/v0/account')).body.address as string
  expect((await bob.api('PUT', '/api/v0/profile', { name: 'Bob Burst' })).status).toBe(200)
  await bob.close()

  const routes = await alice.page.evaluate(async (to) => {
    const out: string[] = []
    for (let i = 0; i < 200; i++) {
      const res = await fetch('/api/v0/messages', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ to, body: `burst ${i}` }) })
      out.push(res.status === 202 ? (await res.json()).route : `http ${res.status}`)
    }
    return out
  }, bobAddr)
  const why = await alice.page.evaluate(() => (globalThis as any).lightcafe.peer.messages.lastFailure)
  expect(new Set(routes), `message ${routes.indexOf('queued')} was queued: ${why}`).toEqual(new Set(['inbox']))
  expect(await inboxOf(cafe, bobAddr)).toBe(200)
  // The owner's status page shows the waiting messages; Bob's shows them unread once they are his.
  const bobRow = cafe.page.getByTestId('client-list').locator('tr', { has: cafe.page.locator(`td[title="${bobAddr}"]`) })
  await expect(bobRow.getByTestId('client-inbox')).toHaveText('200')

  bob = await profiles('bob-burst')
  await expect(bob.page.getByTestId('unread')).toHaveText('Messages: 200 unread of 200', { timeout: 60_000 })
  await expect.poll(async () => (await received(bob)).length, { timeout: 60_000 }).toBe(200)
  await expect(bob.page.getByTestId('unread')).toHaveText('Messages: 0 unread of 200')
  expect((await received(bob)).map(m => m.body)).toEqual(Array.from({ length: 200 }, (_, i) => `burst ${i}`))
  await expect.poll(async () => inboxOf(cafe, bobAddr)).toBe(0)
})

test('bad deliveries are refused with clear reasons and nothing is stored', async ({ peers }) => {
  const cafe = await peers('cafe')
  const bob = await peers('bob')
  const carol = await peers('carol')
  const stranger = await peers('stranger')
  const { peerId: cafeId } = await makeCafe(cafe)
  await register(bob, cafe, cafeId)
  await register(carol, cafe, cafeId)
  const bobAddr = (await bob.api('GET', '/api/v0/account')).body.address as string
  const contact = (await bob.api('PUT', '/api/v0/profile', { name: 'Bob' })).body
  // Bob is away: what reaches his inbox stays there (an online Bob would be pushed to and acknowledge).
  await bob.close()
  const sender = accountFromMnemonic(newMnemonic())
  const deliver = async (body: unknown, from: Peer = stranger): Promise<{ status: number, body: any }> => rawCafe(from, cafeId, 'POST', '/cafe/v1/inbox', body)
  const good = await createEnvelope(sender, contact, new TextEncoder().encode('hello'))

  // Bad signature, oversized, unknown recipient, malformed.
  const forged = await deliver({ ...good, body: good.body.slice(0, -4) + 'AAAA' })
  expect([forged.status, forged.body.error.reason]).toEqual([400, 'BAD_SIGNATURE'])
  const oversized = await deliver({ ...good, body: 'A'.repeat(80 * 1024) })
  expect(oversized.status).toBe(413)
  const nobody = accountFromMnemonic(newMnemonic())
  const unknown = await deliver(await createEnvelope(sender, { address: nobody.address, box: contact.box }, new TextEncoder().encode('hi')))
  expect([unknown.status, unknown.body.error.reason]).toEqual([404, 'UNKNOWN_RECIPIENT'])
  expect((await deliver({ ...good, id: 'not an id!' })).status).toBe(400)
  expect(await inboxOf(cafe, bobAddr)).toBe(0)

  // One good delivery; a duplicate of it is stored once.
  expect((await deliver(good)).status).toBe(202)
  expect((await deliver(good)).body.duplicate).toBe(true)
  expect(await inboxOf(cafe, bobAddr)).toBe(1)

  // Carol may not acknowledge (delete) Bob's message, nor send malformed ids.
  const carolJwt = await carol.page.evaluate(async (id) => (await (globalThis as any).lightcafe.peer.client.get(id)).access, cafeId)
  const theft = await rawCafe(carol, cafeId, 'POST', '/cafe/v1/inbox/ack', { messages: [{ from: good.from, id: good.id }] }, { authorization: `Bearer ${carolJwt}` })
  expect([theft.status, theft.body.error.reason]).toEqual([404, 'MESSAGE_NOT_FOUND'])
  expect((await rawCafe(carol, cafeId, 'POST', '/cafe/v1/inbox/ack', { messages: 'all' }, { authorization: `Bearer ${carolJwt}` })).status).toBe(400)
  expect(await inboxOf(cafe, bobAddr)).toBe(1)

  // A sender over its rate: a burst past the bucket is refused with 429 (duplicates count too).
  const statuses = await stranger.page.evaluate(async ({ cafeId, body }) => {
    const one = async (): Promise<number> => {
      const res: Response = await (globalThis as any).lightcafe.peer.rawCafeFetch(cafeId, new Request('http://cafe/cafe/v1/inbox', { method: 'POST', headers: { 'content-type': 'application/json' }, body }))
      await res.arrayBuffer()
      return res.status
    }
    const out: number[] = []
    let left = 400
    await Promise.all(Array.from({ length: 16 }, async () => { while (left-- > 0) out.push(await one()) }))
    return out
  }, { cafeId, body: JSON.stringify(good) })
  expect(statuses.filter(s => s === 429).length).toBeGreaterThan(0)
  expect(statuses.every(s => s === 202 || s === 429)).toBe(true)

  // The recipient over its quota: the owner lowers Bob's inbox to 1 message; the next is refused.
  expect((await cafe.api('PUT', '/api/v0/cafe', { inbox: { perRecipientCount: 1 } })).status).toBe(200)
  const full = await deliver(await createEnvelope(sender, contact, new TextEncoder().encode('one too many')), carol)
  expect([full.status, full.body.error.reason]).toEqual([413, 'INBOX_FULL'])
  expect(await inboxOf(cafe, bobAddr)).toBe(1)
})

test('a recipient whose storage is full loses nothing: messages wait at its cafe, the page says why, and they arrive once there is room; the sender\'s Sent list goes stored at 1 cafe, delivered, and read only once read receipts are on', async ({ peers }) => {
  test.setTimeout(180_000)
  const cafe = await peers('cafe')
  const alice = await peers('alice')
  const bob = await peers('bob')
  const { peerId: cafeId } = await makeCafe(cafe)
  await register(bob, cafe, cafeId)
  await register(alice, cafe, cafeId)
  const bobAddr = (await bob.api('GET', '/api/v0/account')).body.address as string
  expect((await bob.api('PUT', '/api/v0/profile', { name: 'Bob' })).status).toBe(200)
  const aliceAddr = (await alice.api('PUT', '/api/v0/profile', { name: 'Alice' })).body.address as string
  expect((await alice.api('GET', `/api/v0/contacts/${bobAddr}`)).status).toBe(200)
  // Bob adds Alice (looks her up): receipts go only to people one wrote to or added.
  expect((await bob.api('GET', `/api/v0/contacts/${aliceAddr}`)).status).toBe(200)
  // Alice's Sent list, as she sees it: each message's tick, newest first.
  await show(alice, 'messages')
  const ticks = alice.page.getByTestId('sent-message')

  // Bob's browser refuses to store more (as IndexedDB does when the origin's quota is spent).
  await bob.page.evaluate(() => {
    const add = IDBObjectStore.prototype.add
    ;(globalThis as any).roomAgain = () => { IDBObjectStore.prototype.add = add }
    IDBObjectStore.prototype.add = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['add']>) {
      if (this.name === 'received') throw new DOMException('the quota has been exceeded', 'QuotaExceededError')
      return add.apply(this, args)
    }
  })
  // Direct delivery is refused, so the message goes to Bob's cafe, whose push Bob cannot keep either.
  const sent = await alice.api('POST', '/api/v0/messages', { to: bobAddr, body: 'kept for you' })
  expect([sent.status, sent.body.route], JSON.stringify(sent.body)).toEqual([202, 'inbox'])
  await expect(ticks).toHaveText([/stored at 1 cafe$/])
  const collect = await bob.api('POST', '/api/v0/cafes/messages')
  expect(collect.body).toEqual({ received: 0, held: 1 })
  expect(await inboxOf(cafe, bobAddr)).toBe(1)
  const status = await bob.api('GET', '/api/v0/messages/status')
  expect(status.body.problem).toMatchObject({ reason: 'STORAGE_FULL', held: 1 })
  await show(bob, 'messages')
  await expect(bob.page.getByTestId('receive-problem')).toContainText('storage is full')

  // Room again: the next collect takes it, the cafe lets go, the warning goes.
  await bob.page.evaluate(() => { (globalThis as any).roomAgain() })
  expect((await bob.api('POST', '/api/v0/cafes/messages')).body).toEqual({ received: 1, held: 0 })
  expect((await received(bob)).map(m => m.body)).toEqual(['kept for you'])
  await expect.poll(async () => inboxOf(cafe, bobAddr)).toBe(0)
  await expect(bob.page.getByTestId('receive-problem')).toHaveCount(0)

  // Bob's device tells Alice's it has the message (a delivery receipt); his view showed it (read),
  // but his read receipts are off (the default).
  await expect(ticks).toHaveText([/delivered$/], { timeout: 30_000 })
  await expect(bob.page.getByTestId('read-receipts')).not.toBeChecked()
  // He turns them on; Alice's next message, shown in his open view, comes back read.
  await bob.page.getByTestId('read-receipts').check()
  expect((await bob.api('GET', '/api/v0/messages/settings')).body).toEqual({ readReceipts: true })
  const next = await alice.api('POST', '/api/v0/messages', { to: bobAddr, body: 'and this one?' })
  expect(next.status, JSON.stringify(next.body)).toBe(202)
  await expect(bob.page.getByTestId('message-list')).toContainText('and this one?')
  // Receipts to Alice leave Bob's device in order: had the first been reported read, it would be by now.
  await expect(ticks).toHaveText([/read$/, /delivered$/], { timeout: 30_000 })
  expect(((await alice.api('GET', '/api/v0/messages/sent')).body as any[]).map(m => [m.id, m.state])).toEqual([[next.body.id, 'read'], [sent.body.id, 'delivered']])
})

/** A relay this device lists but cannot reach: no host answers at 10.77.0.3 in the test's namespace, so every dial to it waits out its timeout. */
async function unreachableRelay (): Promise<string> {
  return `/ip4/10.77.0.3/tcp/4999/ws/p2p/${peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()}`
}

/** This page's relay keeper, as it sees each relay. */
async function relaysOf (peer: Peer): Promise<Array<{ multiaddr: string, connected: boolean, reserved: boolean, attempts: number, lastDial?: string, nextDialAt?: number }>> {
  return peer.page.evaluate(() => (globalThis as any).lightcafe.peer.node.relays.state())
}

/** The messages waiting in this page's outbox (its IndexedDB store, as the outbox keeps them). */
async function outgoing (peer: Peer): Promise<Array<{ attempts: number, notBefore: number }>> {
  return peer.page.evaluate(async () => {
    const db: IDBDatabase = await new Promise((resolve, reject) => { const r = indexedDB.open('lightcafe/messages'); r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error) })
    const rows: any[] = await new Promise((resolve, reject) => { const r = db.transaction('outgoing').objectStore('outgoing').getAll(); r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error) })
    db.close()
    return rows.map(j => ({ attempts: j.attempts, notBefore: j.notBefore }))
  })
}

/**
 * Resolves when this page's outbox is empty: the page's own clock then, and the due time its
 * message last had. Watched in the page (a read every 20 ms), so Playwright's round trips under
 * load do not widen what is measured; bounded at 120 s.
 */
async function outboxLeft (peer: Peer): Promise<{ at: number, notBefore: number }> {
  return peer.page.evaluate(async () => {
    const read = async (): Promise<Array<{ notBefore: number }>> => {
      const db: IDBDatabase = await new Promise((resolve, reject) => { const r = indexedDB.open('lightcafe/messages'); r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error) })
      try {
        return await new Promise((resolve, reject) => { const r = db.transaction('outgoing').objectStore('outgoing').getAll(); r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error) })
      } finally { db.close() }
    }
    let notBefore = 0
    const end = Date.now() + 120_000
    while (Date.now() < end) {
      const rows = await read()
      if (rows.length === 0) return { at: Date.now(), notBefore }
      notBefore = Math.max(...rows.map(r => r.notBefore))
      await new Promise(resolve => setTimeout(resolve, 20))
    }
    throw new Error('the outbox did not empty in 120 s')
  })
}

test('across absences (issue 25): a contact lookup keeps the relay connection, a guest writes to the cafe\'s owner, a message to an offline person goes to its inbox without dialling a relay that cannot answer, a message queued while its cafe is away goes as soon as the cafe is back, and a cafe back online redials its relay at once', async ({ env, peers, profiles }) => {
  test.setTimeout(300_000)
  let cafe = await profiles('cafe-away')
  const { peerId: cafeId } = await makeCafe(cafe)
  const owner = await cafe.api('PUT', '/api/v0/profile', { name: 'Cafe owner' })
  expect(owner.status, JSON.stringify(owner.body)).toBe(200)
  const bob = await profiles('bob-away')
  await register(bob, cafe, cafeId)
  const bobAddr = (await bob.api('PUT', '/api/v0/profile', { name: 'Bob' })).body.address as string
  await bob.reachable()
  // Alice lists a second relay she cannot reach (a phone given a relay of another network).
  const dead = await unreachableRelay()
  const alice = await peers('alice', { url: `${env.web.url}/?${[...env.relay.multiaddrs, dead].map(r => `relay=${encodeURIComponent(r)}`).join('&')}` })
  await alice.reachable()
  await register(alice, cafe, cafeId)

  // 1. A lookup of a new contact asks Alice's cafe and the peers that can answer: never her relay,
  // whose refusal of the protocol on a connection older than 3 s was taken for a dead connection.
  const relayConnections = async (): Promise<Array<{ id: string, ageMs: number }>> => alice.page.evaluate(() => {
    const node = (globalThis as any).lightcafe.peer.node
    const relays = new Set((node.relays.state() as Array<{ multiaddr: string }>).map(r => r.multiaddr.split('/p2p/').at(-1)))
    return (node.libp2p.getConnections() as any[]).filter(c => relays.has(c.remotePeer.toString())).map(c => ({ id: String(c.id), ageMs: Date.now() - c.timeline.open }))
  })
  await expect.poll(async () => (await relayConnections()).every(c => c.ageMs > 3_500), { message: 'relay connection older than the stream-open rule' }).toBe(true)
  const before = (await relayConnections()).map(c => c.id)
  expect(before).toHaveLength(1)
  const first = await alice.api('POST', '/api/v0/messages', { to: bobAddr, body: 'hello, new contact' })
  expect([first.status, first.body.route], JSON.stringify(first.body)).toEqual([202, 'direct'])
  await expect.poll(async () => (await received(bob)).map(m => m.body)).toContain('hello, new contact')
  expect((await relayConnections()).map(c => c.id)).toEqual(before)

  // 2. A guest writes to the cafe's owner, whom the cafe's contacts now answer for.
  const ownerContact = await alice.api('GET', `/api/v0/contacts/${owner.body.address as string}`)
  expect([ownerContact.status, ownerContact.body.name], JSON.stringify(ownerContact.body)).toEqual([200, 'Cafe owner'])
  const toOwner = await alice.api('POST', '/api/v0/messages', { to: owner.body.address, body: 'hello, owner' })
  expect([toOwner.status, toOwner.body.route], JSON.stringify(toOwner.body)).toEqual([202, 'direct'])
  await expect.poll(async () => (await received(cafe)).map(m => m.body)).toContain('hello, owner')

  // 3. Bob goes offline: messages to him go to his inbox, through the relay Alice is connected
  // to, with no dial through the one she cannot reach (whose timeout each would wait out).
  await bob.close()
  const deadState = async (): Promise<{ attempts: number }> => (await relaysOf(alice)).find(r => r.multiaddr === dead)!
  // Between two of the keeper's own redials of that relay (its backoff is 4 s or more by now).
  await expect.poll(async () => (await deadState()).attempts, { timeout: 60_000 }).toBeGreaterThanOrEqual(3)
  const attempts = (await deadState()).attempts
  await expect.poll(async () => (await deadState()).attempts, { timeout: 60_000 }).toBeGreaterThan(attempts)
  const dialled: string[] = []
  const onSocket = (ws: { url: () => string }): void => { if (ws.url().includes('10.77.0.3')) dialled.push(ws.url()) }
  alice.page.on('websocket', onSocket)
  for (let i = 0; i < 2; i++) {
    const sent = await alice.api('POST', '/api/v0/messages', { to: bobAddr, body: `while away ${i}` })
    expect([sent.status, sent.body.route], JSON.stringify(sent.body)).toEqual([202, 'inbox'])
  }
  alice.page.off('websocket', onSocket)
  expect(dialled).toEqual([])
  expect(await inboxOf(cafe, bobAddr)).toBe(2)

  // 4. The cafe goes away too: the next message waits in Alice's outbox, retried with backoff...
  await cafe.close()
  const queued = await alice.api('POST', '/api/v0/messages', { to: bobAddr, body: 'queued while the cafe was away' })
  expect([queued.status, queued.body.route], JSON.stringify(queued.body)).toEqual([202, 'queued'])
  // ...until its next try is 30 s away (the longest backoff, after the 5th failure).
  await expect.poll(async () => (await outgoing(alice))[0]?.attempts ?? 0, { timeout: 120_000 }).toBeGreaterThanOrEqual(5)
  // The cafe comes back: its relay says so to Alice (she asked it to), and the message goes at
  // once, before its backoff ran out. Alice's page watches her outbox itself: the moment the
  // message left, against the latest due time it had (a retry that failed while the cafe was
  // still starting moves it on), so a slow start under load cannot make this fail or pass.
  const left = outboxLeft(alice)
  left.catch(() => {}) // awaited below; a failure before that must not also surface as unhandled
  cafe = await profiles('cafe-away')
  await expect.poll(async () => inboxOf(cafe, bobAddr), { timeout: 60_000 }).toBe(3)
  const { at, notBefore } = await left
  expect(at).toBeLessThan(notBefore)
  expect(await outgoing(alice)).toEqual([])

  // 5. The cafe's network goes away: it loses its relay and its redials fail and back off.
  await cafe.reachable()
  await cafe.context.setOffline(true)
  await expect.poll(async () => { const [r] = await relaysOf(cafe); return !r.connected && r.attempts >= 4 }, { timeout: 60_000 }).toBe(true)
  // After a failed redial the keeper waits out its backoff (8 s or more by now) before the next.
  const failed = (await relaysOf(cafe))[0].attempts
  await expect.poll(async () => (await relaysOf(cafe))[0].attempts, { timeout: 60_000 }).toBeGreaterThan(failed)
  const [away] = await relaysOf(cafe)
  expect(away.lastDial).toBe('backoff')
  // Back online: the browser says so (`online`, or first a change of network), and the relay is
  // redialled at once, not when the backoff ends: the keeper names what started the dial that
  // reserved (a backoff running out would say `backoff`), whatever the clock says.
  await cafe.context.setOffline(false)
  await expect.poll(async () => (await relaysOf(cafe))[0].reserved, { timeout: 20_000 }).toBe(true)
  const [back] = await relaysOf(cafe)
  expect(['online', 'network']).toContain(back.lastDial)
  // And it is usable: a new client registers (through the relay: it never met the cafe).
  const carol = await peers('carol')
  await register(carol, cafe, cafeId)
})
