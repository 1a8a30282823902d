import 'fake-indexeddb/auto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { accountFromMnemonic, newMnemonic } from '../account/index.ts'
import { memoryBackupCafe } from '../cafe/test-backup-cafe.ts'
import { createEnvelope } from '../inbox/envelope.ts'
import { PeerAbsentError } from '../node/errors.ts'
import { CafeClient } from './cafe-client.ts'
import { Messages } from './messages.ts'
import { decodeReceipt, encodeReceipt } from './receipts.ts'
import { MemorySessionStore } from './session-store.ts'
import type { Account } from '../account/index.ts'

let dbs = 0

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
    const messages = new Messages({ account: () => account, client, transport, peerId: peer, connectedPeers: () => [], dbName: `receipts-test-${++dbs}` })
    await messages.setProfile(account.address.slice(-4))
    return messages
  }
  const alice = accountFromMnemonic(newMnemonic())
  const bob = accountFromMnemonic(newMnemonic())
  return { alice, bob, a: await device(alice), b: await device(bob), cafe }
}

describe('what the sender sees of each message (receipts)', () => {
  it('queued, then stored at the cafe, then delivered when the recipient collects it; read only when the recipient turned read receipts on', async () => {
    const { bob, a, b } = await setUp()
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
})
