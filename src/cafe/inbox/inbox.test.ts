import 'fake-indexeddb/auto'
import { IDBDatastore } from 'datastore-idb'
import { describe, expect, it, vi } from 'vitest'
import { accountFromMnemonic, newMnemonic } from '../../account/index.ts'
import { boxKeyPair } from '../../account/box.ts'
import { signContact } from '../../contacts/contact.ts'
import { createEnvelope, envelopeSigningBytes } from '../../inbox/envelope.ts'
import { toBase64url, utf8 } from '../../shared/bytes.ts'
import { DatastoreInboxStore } from '../datastore/inbox-store.ts'
import { CafeInbox, INBOX_LIMITS, parseAckRefs } from './inbox.ts'
import { MemoryInboxStore } from './inbox-store.ts'
import type { InboxStore } from './inbox-store.ts'
import type { Account } from '../../account/index.ts'
import type { Contact } from '../../contacts/contact.ts'
import type { Envelope } from '../../inbox/envelope.ts'
import type { InboxLimits, InboxMessage } from './inbox.ts'

const alice = accountFromMnemonic(newMnemonic())
const bob = accountFromMnemonic(newMnemonic())
const carol = accountFromMnemonic(newMnemonic())
const stranger = accountFromMnemonic(newMnemonic())
const contactOf = (account: Account): Contact => signContact(account, { name: 'someone', peers: [], inboxes: [], box: toBase64url(boxKeyPair(account.secretKey).publicKey) })
const contacts = new Map([alice, bob, carol, stranger].map(a => [a.address, contactOf(a)]))
const registered = new Set([alice.address, bob.address, carol.address])

const wire = (e: Envelope): unknown => JSON.parse(JSON.stringify(e))
const ref = (e: Envelope): { from: string, id: string } => ({ from: e.from, id: e.id })
const letter = async (from: Account, to: Account, text = 'hello', at = Date.now()): Promise<Envelope> => createEnvelope(from, contacts.get(to.address)!, utf8.encode(text), at)

let stores = 0

/** A datastore-idb database (fake-indexeddb in Node), opened: the backend of the tab cafe's stores. */
async function idbDatastore (name: string): Promise<IDBDatastore> { const ds = new IDBDatastore(name); await ds.open(); return ds }
function setup (limits: Partial<InboxLimits> = {}, store: InboxStore = new MemoryInboxStore()): { inbox: CafeInbox, clock: { now: number } } {
  const clock = { now: Date.now() }
  const inbox = new CafeInbox({ store, isRegistered: async a => registered.has(a), now: () => clock.now, limits })
  return { inbox, clock }
}

describe('the offline inbox', () => {
  it('keeps messages in arrival order per recipient until acknowledged', async () => {
    const { inbox } = setup()
    const e1 = await letter(alice, bob, 'one')
    const e2 = await letter(carol, bob, 'two')
    const e3 = await letter(alice, bob, 'three')
    const toCarol = await letter(alice, carol)
    const d1 = await inbox.deliver(wire(e1), 'p1')
    await inbox.deliver(wire(toCarol), 'p1')
    const d2 = await inbox.deliver(wire(e2), 'p2')
    const d3 = await inbox.deliver(wire(e3), 'p1')
    expect(d1).toEqual({ id: e1.id, seq: d1.seq, duplicate: false })
    expect(d1.seq).toBeLessThan(d2.seq)
    expect(d2.seq).toBeLessThan(d3.seq)

    const { messages, more } = await inbox.list(bob.address)
    expect(more).toBe(false)
    expect(messages.map(m => m.envelope)).toEqual([e1, e2, e3])
    expect(messages.map(m => m.seq)).toEqual([d1.seq, d2.seq, d3.seq])
    expect(typeof messages[0].received).toBe('string')
    expect(await inbox.count(bob.address)).toEqual({ messages: 3, bytes: [e1, e2, e3].reduce((n, e) => n + JSON.stringify(e).length, 0) })

    expect(await inbox.ack(bob.address, [ref(e1), ref(e3)])).toEqual({ deleted: 2 })
    expect((await inbox.list(bob.address)).messages.map(m => m.envelope)).toEqual([e2])
    expect((await inbox.list(carol.address)).messages.map(m => m.envelope)).toEqual([toCarol])
    expect((await inbox.count(bob.address)).messages).toBe(1)
  })

  it('stores a re-delivered envelope once and reports it as a duplicate', async () => {
    const { inbox } = setup()
    const e = await letter(alice, bob)
    const first = await inbox.deliver(wire(e), 'p1')
    const again = await inbox.deliver(wire(e), 'p2')
    expect(again).toEqual({ id: e.id, seq: first.seq, duplicate: true })
    expect((await inbox.list(bob.address)).messages).toHaveLength(1)
    expect(await inbox.count(bob.address)).toMatchObject({ messages: 1 })
  })

  it('refuses a recipient that is not a client here', async () => {
    const { inbox } = setup()
    await expect(inbox.deliver(wire(await letter(alice, stranger)), 'p1')).rejects.toMatchObject({ reason: 'UNKNOWN_RECIPIENT', status: 404 })
    expect(await inbox.count(stranger.address)).toEqual({ messages: 0, bytes: 0 })
  })

  it('refuses an envelope over the size bound, and a forged or malformed one', async () => {
    const { inbox } = setup()
    const e = await letter(alice, bob)
    const big = { ...wire(e) as object, body: 'A'.repeat(INBOX_LIMITS.maxEnvelopeBytes) }
    await expect(inbox.deliver(big, 'p1')).rejects.toMatchObject({ reason: 'INVALID_ENVELOPE', status: 413 })
    const other = await letter(alice, bob, 'another')
    await expect(inbox.deliver({ ...wire(e) as object, sig: other.sig }, 'p1')).rejects.toMatchObject({ reason: 'BAD_SIGNATURE', status: 400 })
    // A sender cannot pass a message off as someone else's.
    await expect(inbox.deliver({ ...wire(e) as object, from: carol.address }, 'p1')).rejects.toMatchObject({ reason: 'BAD_SIGNATURE', status: 400 })
    await expect(inbox.deliver({ hello: 'bob' }, 'p1')).rejects.toMatchObject({ reason: 'INVALID_ENVELOPE', status: 400 })
    expect((await inbox.list(bob.address)).messages).toEqual([])

    const small = setup({ maxEnvelopeBytes: 1000 }).inbox
    await expect(small.deliver(wire(await letter(alice, bob, 'x'.repeat(1000))), 'p1')).rejects.toMatchObject({ reason: 'INVALID_ENVELOPE', status: 413 })
  })

  it('rate-limits per sender peer: a burst of 200 passes, then 20 a second', async () => {
    const { inbox, clock } = setup()
    const burst = await Promise.all(Array.from({ length: 200 }, async (_, i) => letter(alice, bob, `m${i}`)))
    for (const e of burst) await inbox.deliver(wire(e), 'busy')
    expect((await inbox.count(bob.address)).messages).toBe(200)
    // The limit comes before any checking: junk spends the sender's tokens too.
    for (let i = 0; i < 100; i++) await expect(inbox.deliver({}, 'busy')).rejects.toMatchObject({ reason: 'INVALID_ENVELOPE' })
    const next = await letter(alice, bob, 'one too many')
    await expect(inbox.deliver(wire(next), 'busy')).rejects.toMatchObject({ reason: 'RATE_LIMITED', status: 429 })
    // Another peer has its own bucket.
    expect((await inbox.deliver(wire(next), 'quiet')).duplicate).toBe(false)
    clock.now += 1000
    for (let i = 0; i < 20; i++) await expect(inbox.deliver({}, 'busy')).rejects.toMatchObject({ reason: 'INVALID_ENVELOPE' })
    await expect(inbox.deliver({}, 'busy')).rejects.toMatchObject({ reason: 'RATE_LIMITED' })
  })

  it('bounds each recipient\'s inbox by count and by bytes', async () => {
    const byCount = setup({ perRecipientCount: 2 }).inbox
    const [e1, e2, e3] = await Promise.all([letter(alice, bob), letter(alice, bob), letter(alice, bob)])
    await byCount.deliver(wire(e1), 'p')
    await byCount.deliver(wire(e2), 'p')
    await expect(byCount.deliver(wire(e3), 'p')).rejects.toMatchObject({ reason: 'INBOX_FULL', status: 413, message: expect.stringContaining('messages') })
    // Re-deliveries still answer, and other recipients are not affected.
    expect((await byCount.deliver(wire(e2), 'p')).duplicate).toBe(true)
    await byCount.deliver(wire(await letter(alice, carol)), 'p')
    await byCount.ack(bob.address, [ref(e1)])
    expect((await byCount.deliver(wire(e3), 'p')).duplicate).toBe(false)

    const size = JSON.stringify(e1).length
    const byBytes = setup({ perRecipientBytes: 2 * size + size / 2 }).inbox
    await byBytes.deliver(wire(e1), 'p')
    await byBytes.deliver(wire(e2), 'p')
    await expect(byBytes.deliver(wire(e3), 'p')).rejects.toMatchObject({ reason: 'INBOX_FULL', status: 413, message: expect.stringContaining('bytes') })
    expect(await byBytes.count(bob.address)).toEqual({ messages: 2, bytes: 2 * size })
  })

  it('refuses to acknowledge another client\'s message, deleting nothing', async () => {
    const { inbox } = setup()
    const toBob = await letter(alice, bob)
    const toCarol = await letter(alice, carol)
    await inbox.deliver(wire(toBob), 'p')
    await inbox.deliver(wire(toCarol), 'p')
    await expect(inbox.ack(bob.address, [ref(toBob), ref(toCarol)])).rejects.toMatchObject({ reason: 'MESSAGE_NOT_FOUND', status: 404 })
    expect((await inbox.list(bob.address)).messages).toHaveLength(1)
    expect((await inbox.list(carol.address)).messages).toHaveLength(1)
    await expect(inbox.ack(bob.address, [ref(toCarol)])).rejects.toMatchObject({ reason: 'MESSAGE_NOT_FOUND' })
    expect((await inbox.list(carol.address)).messages).toHaveLength(1)
    // What is not a list of {from, id} is refused at the route, before the inbox is asked.
    const max = inbox.limits.maxAckIds
    expect(() => parseAckRefs('nope', max)).toThrow(expect.objectContaining({ status: 400 }))
    expect(() => parseAckRefs([{ from: alice.address, id: 'short' }], max)).toThrow(expect.objectContaining({ status: 400 }))
    expect(() => parseAckRefs([toBob.id], max)).toThrow(expect.objectContaining({ status: 400 }))
    expect(() => parseAckRefs(Array.from({ length: 501 }, () => ref(toBob)), max)).toThrow(expect.objectContaining({ status: 400 }))
    expect(await inbox.ack(bob.address, [])).toEqual({ deleted: 0 })
    expect(await inbox.ack(bob.address, [ref(toBob), ref(toBob)])).toEqual({ deleted: 1 })
  })

  // Both stores: the datastore one on IndexedDB (fake-indexeddb, as in a browser) has its own ack.
  it.each([['memory', async (): Promise<InboxStore> => new MemoryInboxStore()], ['IndexedDB', async (): Promise<InboxStore> => new DatastoreInboxStore(await idbDatastore(`inbox-test-${++stores}`))]])('acknowledges by sender and id: another sender\'s message under the same id stays (%s store)', async (_kind, store) => {
    const { inbox } = setup({}, await store())
    const genuine = await letter(alice, bob, 'from alice')
    // Ids are the sender's choice: carol signs an envelope of her own under alice's id.
    const sameId = await letter(carol, bob, 'from carol')
    const { sig: _sig, ...unsigned } = { ...sameId, id: genuine.id }
    const copycat: Envelope = { ...unsigned, sig: toBase64url(carol.sign(envelopeSigningBytes(unsigned))) }
    await inbox.deliver(wire(genuine), 'p')
    await inbox.deliver(wire(copycat), 'p')
    expect((await inbox.list(bob.address)).messages).toHaveLength(2)
    expect(await inbox.ack(bob.address, [ref(copycat)])).toEqual({ deleted: 1 })
    expect((await inbox.list(bob.address)).messages.map(m => m.envelope)).toEqual([genuine])
    // Naming a sender that sent no such id deletes nothing.
    await expect(inbox.ack(bob.address, [{ from: carol.address, id: genuine.id }])).rejects.toMatchObject({ reason: 'MESSAGE_NOT_FOUND' })
    expect((await inbox.count(bob.address)).messages).toBe(1)
  })

  it('lets messages expire after the TTL', async () => {
    const { inbox, clock } = setup()
    const old = await letter(alice, bob, 'old')
    await inbox.deliver(wire(old), 'p')
    clock.now += INBOX_LIMITS.ttlMs - 1000
    const recent = await letter(alice, bob, 'recent', clock.now)
    await inbox.deliver(wire(recent), 'p')
    expect((await inbox.list(bob.address)).messages).toHaveLength(2)
    clock.now += 1000
    // Hidden at once, deleted by the sweep.
    expect((await inbox.list(bob.address)).messages.map(m => m.envelope)).toEqual([recent])
    expect(await inbox.expire()).toBe(1)
    expect((await inbox.count(bob.address)).messages).toBe(1)
    // An expired message cannot be acknowledged; a fresh delivery of it is a new message.
    await expect(inbox.ack(bob.address, [ref(old)])).rejects.toMatchObject({ reason: 'MESSAGE_NOT_FOUND' })
    expect((await inbox.deliver(wire(old), 'p')).duplicate).toBe(false)
  })

  it('pages with after and limit, flagging more', async () => {
    const { inbox } = setup()
    const sent = await Promise.all(Array.from({ length: 5 }, async (_, i) => letter(alice, bob, `m${i}`)))
    for (const e of sent) await inbox.deliver(wire(e), 'p')
    const page1 = await inbox.list(bob.address, { limit: 2 })
    expect(page1.more).toBe(true)
    expect(page1.messages.map(m => m.envelope.id)).toEqual([sent[0].id, sent[1].id])
    const page2 = await inbox.list(bob.address, { after: page1.messages[1].seq, limit: 2 })
    expect(page2.more).toBe(true)
    expect(page2.messages.map(m => m.envelope.id)).toEqual([sent[2].id, sent[3].id])
    const page3 = await inbox.list(bob.address, { after: page2.messages[1].seq, limit: 2 })
    expect(page3).toMatchObject({ more: false })
    expect(page3.messages.map(m => m.envelope.id)).toEqual([sent[4].id])
    expect(await inbox.list(bob.address, { after: page3.messages[0].seq })).toEqual({ messages: [], more: false })
    await expect(inbox.list(bob.address, { limit: 0 })).rejects.toMatchObject({ status: 400 })
    await expect(inbox.list(bob.address, { limit: INBOX_LIMITS.maxListLimit + 1 })).rejects.toMatchObject({ status: 400 })
    await expect(inbox.list(bob.address, { after: -1 })).rejects.toMatchObject({ status: 400 })
  })

  it('tells listeners of each new message once', async () => {
    const { inbox } = setup()
    const heard: Array<[string, InboxMessage[]]> = []
    const stop = inbox.onDelivered((to, messages) => { heard.push([to, messages]) })
    inbox.onDelivered(() => { throw new Error('a broken listener') })
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {})
    const e = await letter(alice, bob)
    const d = await inbox.deliver(wire(e), 'p')
    await inbox.deliver(wire(e), 'p')
    await expect(inbox.deliver(wire(await letter(alice, stranger)), 'p')).rejects.toThrow()
    expect(heard).toEqual([[bob.address, [{ seq: d.seq, received: expect.any(String), envelope: e }]]])
    stop()
    await inbox.deliver(wire(await letter(alice, carol)), 'p')
    expect(heard).toHaveLength(1)
    // A broken listener is logged; the message is stored all the same.
    expect(logged).toHaveBeenCalledTimes(2)
    logged.mockRestore()
  })

  it('drops a recipient\'s whole inbox on removeAll', async () => {
    const { inbox } = setup()
    await inbox.deliver(wire(await letter(alice, bob)), 'p')
    await inbox.deliver(wire(await letter(alice, carol)), 'p')
    await inbox.removeAll(bob.address)
    expect(await inbox.count(bob.address)).toEqual({ messages: 0, bytes: 0 })
    expect((await inbox.count(carol.address)).messages).toBe(1)
  })

  describe.each([['memory', async (): Promise<InboxStore> => new MemoryInboxStore()], ['IndexedDB', async (): Promise<InboxStore> => new DatastoreInboxStore(await idbDatastore(`inbox-test-${++stores}`))]])('batch delivery (%s store)', (_kind, newStore) => {
    it('checks each envelope as deliver() would, stores those that pass in order, and answers per envelope', async () => {
      const { inbox } = setup({ perRecipientCount: 3 }, await newStore())
      const pushed: number[] = []
      inbox.onDelivered((_to, ms) => { pushed.push(...ms.map(m => m.seq)) })
      const [e1, e2, e3, e4] = await Promise.all([letter(alice, bob, 'one'), letter(carol, bob, 'two'), letter(alice, bob, 'three'), letter(alice, bob, 'four')])
      const forged = { ...wire(e2) as object, sig: e1.sig }
      const toStranger = await letter(alice, stranger)
      const results = await inbox.deliverMany([wire(e1), wire(e2), wire(e1), forged, wire(toStranger), 'junk', wire(e3), wire(e4)], 'p')
      expect(results.map(r => 'error' in r ? r.error.reason : r.duplicate ? 'duplicate' : 'stored')).toEqual(
        ['stored', 'stored', 'duplicate', 'BAD_SIGNATURE', 'UNKNOWN_RECIPIENT', 'INVALID_ENVELOPE', 'stored', 'INBOX_FULL'])
      expect(results.map(r => r.id)).toEqual([e1.id, e2.id, e1.id, e2.id, toStranger.id, undefined, e3.id, e4.id])
      expect(results[7]).toMatchObject({ error: { status: 413 } })
      const listed = (await inbox.list(bob.address)).messages
      expect(listed.map(m => m.envelope.id)).toEqual([e1.id, e2.id, e3.id])
      expect(results[2]).toMatchObject({ seq: listed[0].seq, duplicate: true })
      // Listeners hear of each new message once, not of repeats or refusals.
      expect(pushed).toEqual(listed.map(m => m.seq))
      expect(await inbox.count(bob.address)).toEqual({ messages: 3, bytes: [e1, e2, e3].reduce((n, e) => n + JSON.stringify(e).length, 0) })
      // A later single delivery sees the totals the batch left.
      await expect(inbox.deliver(wire(e4), 'p')).rejects.toMatchObject({ reason: 'INBOX_FULL' })
    })

    it('tells listeners once per recipient of a batch, with its new messages in seq order', async () => {
      const { inbox } = setup({}, await newStore())
      const heard: Array<[string, number[]]> = []
      inbox.onDelivered((to, ms) => { heard.push([to, ms.map(m => m.seq)]) })
      const [b1, c1, b2, b3] = await Promise.all([letter(alice, bob, 'b1'), letter(alice, carol, 'c1'), letter(carol, bob, 'b2'), letter(alice, bob, 'b3')])
      const results = await inbox.deliverMany([wire(b1), wire(c1), wire(b2), wire(b1), wire(b3)], 'p')
      const seqs = results.map(r => 'seq' in r ? r.seq : -1)
      expect(heard).toEqual([[bob.address, [seqs[0], seqs[2], seqs[4]]], [carol.address, [seqs[1]]]])
      // A batch of repeats only tells nobody.
      await inbox.deliverMany([wire(b1), wire(c1)], 'p')
      expect(heard).toHaveLength(2)
    })

    it('costs one rate token per envelope: those past the sender\'s allowance are refused, not stored', async () => {
      const { inbox } = setup({ rateCapacity: 3, rateRefillPerSecond: 0 }, await newStore())
      const letters = await Promise.all(Array.from({ length: 5 }, async (_, i) => letter(alice, bob, `m${i}`)))
      const results = await inbox.deliverMany(letters.map(wire), 'p')
      expect(results.map(r => 'error' in r ? r.error.reason : 'stored')).toEqual(['stored', 'stored', 'stored', 'RATE_LIMITED', 'RATE_LIMITED'])
      expect((await inbox.list(bob.address)).messages).toHaveLength(3)
      // Another carrier has its own allowance.
      expect((await inbox.deliverMany([wire(letters[3])], 'q'))[0]).toMatchObject({ duplicate: false })
    })

    it('bounds the count and refuses what is not a list', async () => {
      const { inbox } = setup({ maxBatchCount: 2 }, await newStore())
      const letters = await Promise.all([letter(alice, bob), letter(alice, bob), letter(alice, bob)])
      await expect(inbox.deliverMany(letters.map(wire), 'p')).rejects.toMatchObject({ reason: 'INVALID_FIELD', status: 413 })
      for (const bad of [[], {}, 'x', null]) await expect(inbox.deliverMany(bad, 'p')).rejects.toMatchObject({ reason: 'INVALID_FIELD' })
      expect(await inbox.count(bob.address)).toEqual({ messages: 0, bytes: 0 })
    })
  })
})
