import 'fake-indexeddb/auto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { openDB } from 'idb'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { accountFromMnemonic, newMnemonic } from '../account/index.ts'
import { memoryBackupCafe } from '../../test/fixtures/backup-cafe.ts'
import { boxKeyPair } from '../account/box.ts'
import { createEnvelope, openEnvelope } from '../inbox/envelope.ts'
import { PeerAbsentError } from '../node/errors.ts'
import { CafeClient } from './cafe-client.ts'
import { Messages } from './messages.ts'
import { decodeReceipt, encodeReceipt, readsReceipts } from './receipts.ts'
import { MemorySessionStore } from './session-store.ts'
import type { Account } from '../account/index.ts'

let dbs = 0
const dbNames = new Map<Messages, string>()

/** Receipts to `to` waiting in a device's outbox (its IndexedDB store, as the outbox keeps them until a cafe or peer took them). */
async function receiptsQueued (device: Messages, to: string): Promise<number> {
  const db = await openDB(dbNames.get(device)!)
  const rows = await db.getAll('outgoing') as Array<{ receipt?: boolean, envelope: { to: string } }>
  db.close()
  return rows.filter(j => j.receipt === true && j.envelope.to === to).length
}

/** One cafe holding both accounts' inboxes; devices whose own peers are offline (everything goes through the cafe). */
async function setUp () {
  const cafe = await memoryBackupCafe({ inbox: true })
  const device = async (account: Account): Promise<Messages> => {
    const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const transport = async (to: { id: string }, request: Request): Promise<Response> => {
      if (to.id !== cafe.cafeId) throw new PeerAbsentError('not at its relay now')
      return cafe.app.fetch(request, { remotePeer: peer })
    }
    const client = new CafeClient({ account: () => account, store: new MemorySessionStore(), transport })
    await client.register(cafe.cafeId, (await cafe.host.createToken()).token)
    const dbName = `receipts-test-${++dbs}`
    const messages = new Messages({ account: () => account, client, transport, peerId: peer, connectedPeers: () => [], dbName })
    dbNames.set(messages, dbName)
    await messages.setProfile(account.address.slice(-4))
    return messages
  }
  const alice = accountFromMnemonic(newMnemonic())
  const bob = accountFromMnemonic(newMnemonic())
  return { alice, bob, a: await device(alice), b: await device(bob), cafe, device }
}

/** The receipts waiting for `account` in the cafe's inbox, opened with its key: kind and ids of each. */
async function receiptsAt (cafe: Awaited<ReturnType<typeof memoryBackupCafe>>, account: Account): Promise<Array<{ kind: string, ids: string[] }>> {
  const { messages } = await cafe.inbox!.list(account.address, { limit: 500 })
  const opened = await Promise.all(messages.map(async m => decodeReceipt(await openEnvelope(boxKeyPair(account.secretKey).secretKey, m.envelope))))
  return opened.filter(r => r != null)
}

describe('what the sender sees of each message (receipts)', () => {
  it('queued, then stored at the cafe, then delivered when the recipient collects it; read only when the recipient turned read receipts on', async () => {
    const { alice, bob, a, b } = await setUp()
    // Bob knows Alice (he looked her up): receipts go only to people one wrote to or added.
    await b.contactOf(alice.address)
    const sent = await a.send(bob.address, 'first')
    expect(sent.route).toBe('inbox')
    expect(await a.sent()).toMatchObject([{ id: sent.id, to: bob.address, state: 'stored', cafes: [expect.any(String)] }])

    // Bob collects: his device tells Alice's it was delivered (a receipt through the cafe); Alice collects it.
    expect(await b.collect()).toEqual({ received: 1, held: 0 })
    await expect.poll(async () => { await a.collect(); return (await a.sent())[0].state }).toBe('delivered')
    expect((await a.sent())[0].deliveredAt).toEqual(expect.any(String))
    // The receipt is not a message: Alice has none.
    expect(await a.list()).toEqual([])

    // Bob reads with read receipts off (the default): Alice sees "delivered", not "read".
    expect((await b.receiptSettings()).readReceipts).toBe(false)
    expect((await b.list()).map(m => m.body)).toEqual(['first'])
    await a.collect()
    expect((await a.sent())[0].state).toBe('delivered')

    // On: the next message read is reported read.
    await b.setReceiptSettings({ readReceipts: true })
    const second = await a.send(bob.address, 'second')
    await b.collect()
    await b.list()
    await expect.poll(async () => { await a.collect(); return (await a.sent()).find(s => s.id === second.id)?.state }).toBe('read')
    expect((await a.sent()).find(s => s.id === sent.id)?.state).toBe('delivered')
    for (const m of [a, b]) m.stop()
  })

  it('takes a receipt only from the account the message went to; a message text cannot pass for a receipt', async () => {
    const { alice, bob, a, cafe } = await setUp()
    const sent = await a.send(bob.address, 'for Bob only')
    const mallory = accountFromMnemonic(newMnemonic())
    // Mallory signs a "read" receipt naming Alice's message and leaves it in Alice's inbox.
    const forged = await createEnvelope(mallory, (await a.profile())!, encodeReceipt({ kind: 'read', ids: [sent.id] }), Date.now())
    await cafe.app.fetch(new Request('http://cafe/cafe/v1/inbox', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(forged) }), { remotePeer: 'mallory' })
    await a.collect()
    expect((await a.sent())[0].state).toBe('stored')
    await expect(a.send(bob.address, '\u0000lightcafe/receipt/v1\n{"kind":"read","ids":[]}')).rejects.toMatchObject({ reason: 'INVALID_FIELD' })
    expect(decodeReceipt(new TextEncoder().encode('an ordinary message'))).toBeUndefined()
    expect(() => decodeReceipt(new TextEncoder().encode('\u0000not a receipt'))).toThrow(/malformed receipt/)
    expect(alice.address).not.toBe(mallory.address)
    a.stop()
  })

  it('no receipt to a stranger: only people this account wrote to or looked up get one', async () => {
    const { alice, bob, a, b, cafe, device } = await setUp()
    const carol = accountFromMnemonic(newMnemonic())
    const c = await device(carol)
    await b.contactOf(alice.address)
    // Carol, whom Bob does not know, writes first; then Alice, whom he does: one page, in that order.
    const fromCarol = await c.send(bob.address, 'hello from a stranger')
    const fromAlice = await a.send(bob.address, 'hello from a friend')
    expect(await b.collect()).toEqual({ received: 2, held: 0 })
    // Alice's receipt is queued after Carol's would have been (senders in page order).
    await expect.poll(async () => { await a.collect(); return (await a.sent())[0].state }).toBe('delivered')
    // Carol's would be in Bob's outbox until her cafe took it, then there: first the one, then the other.
    // Before: she got a delivery receipt too, learning that Bob's account is alive.
    expect(await receiptsQueued(b, carol.address)).toBe(0)
    expect(await receiptsAt(cafe, carol)).toEqual([])
    await c.collect()
    expect((await c.sent()).find(s => s.id === fromCarol.id)?.state).toBe('stored')
    expect(fromAlice.id).not.toBe(fromCarol.id)

    // Once Bob has looked Carol up, her next message gets its receipt.
    await b.contactOf(carol.address)
    const again = await c.send(bob.address, 'hello again')
    await b.collect()
    await expect.poll(async () => { await c.collect(); return (await c.sent()).find(s => s.id === again.id)?.state }).toBe('delivered')
    for (const m of [a, b, c]) m.stop()
  })

  it('no receipt for a message whose sender did not say it reads them (a client from before receipts would show it as text)', async () => {
    const { alice, bob, a, b, cafe } = await setUp()
    await b.contactOf(alice.address)
    // A message as an older client of Alice's sends it (a random id), then one from this version.
    const bobContact = await a.contactOf(bob.address)
    const older = await createEnvelope(alice, bobContact, new TextEncoder().encode('from an older client'), Date.now())
    expect(readsReceipts(older.id)).toBe(false)
    await cafe.app.fetch(new Request('http://cafe/cafe/v1/inbox', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(older) }), { remotePeer: 'alice-old' })
    const newer = await a.send(bob.address, 'from this version')
    expect(readsReceipts(newer.id)).toBe(true)
    expect(await b.collect()).toEqual({ received: 2, held: 0 })
    // One receipt, naming only the message whose sender reads them. Before: both.
    await expect.poll(async () => receiptsAt(cafe, alice)).toEqual([{ kind: 'delivered', ids: [newer.id] }])
    for (const m of [a, b]) m.stop()
  })
})
