import 'fake-indexeddb/auto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { accountFromMnemonic, newMnemonic } from '../account/index.ts'
import { boxKeyPair } from '../account/box.ts'
import { CafeContacts, CafeHost, CafeInbox, MemoryCafeStore, MemoryContactStore, MemoryInboxStore, createCafeApp } from '../cafe/index.ts'
import { signContact } from '../contacts/contact.ts'
import { createEnvelope, envelopeSigningBytes } from '../inbox/envelope.ts'
import { toBase64url, utf8 } from '../shared/bytes.ts'
import { CafeClient } from './cafe-client.ts'
import { MESSAGE_LIMITS, Messages } from './messages.ts'
import { createPeerApp } from './peer-api.ts'
import { MemorySessionStore } from './session-store.ts'
import { PeerAbsentError, PeerUnreachableError } from '../node/errors.ts'
import { Wake } from '../shared/wake.ts'
import type { Account } from '../account/index.ts'
import type { Contact } from '../contacts/contact.ts'
import type { Envelope } from '../inbox/envelope.ts'
import type { MessageLimits } from './messages.ts'

// A real cafe (host, inbox, contacts, app) carried in memory, and a real Messages on IndexedDB
// (fake-indexeddb: the same API the browser gives, in Node).
const contactOf = (account: Account): Contact => signContact(account, { name: 'someone', peers: [], inboxes: [], box: toBase64url(boxKeyPair(account.secretKey).publicKey) })
const wire = (e: Envelope): unknown => JSON.parse(JSON.stringify(e))
let dbs = 0

interface Device { account: Account, client: CafeClient, messages: Messages, clock: { skewMs: number } }

describe('receiving messages', () => {
  const alice = accountFromMnemonic(newMnemonic())
  const bob = accountFromMnemonic(newMnemonic())
  let cafeId: string
  let host: CafeHost
  let inbox: CafeInbox
  let app: ReturnType<typeof createCafeApp>
  const devices: Device[] = []

  beforeEach(async () => {
    const key = await generateKeyPair('Ed25519')
    cafeId = peerIdFromPrivateKey(key).toString()
    host = new CafeHost({ peerId: cafeId, privateKeyRaw: key.raw, store: new MemoryCafeStore() })
    await host.setSettings({ enabled: true })
    inbox = new CafeInbox({ store: new MemoryInboxStore(), isRegistered: async a => (await host.clientPeer(a)) != null })
    app = createCafeApp(host, { services: { inbox, contacts: new CafeContacts(new MemoryContactStore()) } })
  })
  afterEach(async () => {
    for (const d of devices.splice(0)) { d.messages.stop(); d.client.stop(); await d.messages.close() }
    vi.restoreAllMocks()
  })

  /** A registered device of `account` whose clock runs `skewMs` off the cafe's. */
  async function device (account: Account, limits: Partial<MessageLimits> = {}, seen?: (request: Request, to: string) => Response | Promise<Response> | undefined, wake?: Wake): Promise<Device> {
    const clock = { skewMs: 0 }
    const now = (): number => Date.now() + clock.skewMs
    const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const transport = async (to: { id: string }, request: Request): Promise<Response> => seen?.(request, to.id) ?? app.fetch(request, { remotePeer: peer })
    const client = new CafeClient({ account: () => account, store: new MemorySessionStore(), transport, now })
    await client.register(cafeId, (await host.createToken()).token)
    const messages = new Messages({ account: () => account, client, transport, peerId: peer, connectedPeers: () => [], dbName: `messages-test-${++dbs}`, now, limits, ...(wake != null ? { wake } : {}) })
    const d = { account, client, messages, clock }
    devices.push(d)
    return d
  }

  const letter = async (from: Account, to: Account, text = 'hello', at = Date.now()): Promise<Envelope> => createEnvelope(from, contactOf(to), utf8.encode(text), at)
  const waiting = async (who: Account): Promise<number> => (await inbox.count(who.address)).messages

  it('takes messages from a cafe despite a recipient clock 11 minutes slow', async () => {
    const b = await device(bob)
    b.clock.skewMs = -11 * 60_000
    for (const text of ['one', 'two', 'three']) await inbox.deliver(wire(await letter(alice, bob, text)), 'alice-peer')
    expect(await b.messages.collect()).toEqual({ received: 3, held: 0 })
    expect((await b.messages.list()).map(m => m.body)).toEqual(['one', 'two', 'three'])
    expect(await waiting(bob)).toBe(0)
  })

  it('leaves at the cafe what it cannot judge (clock hours off), says why, and takes it once the clock is right', async () => {
    const b = await device(bob)
    await inbox.deliver(wire(await letter(alice, bob, 'later')), 'alice-peer')
    b.clock.skewMs = -2 * 60 * 60_000
    expect(await b.messages.collect()).toEqual({ received: 0, held: 1 })
    expect(await waiting(bob)).toBe(1)
    expect(b.messages.receiveProblem).toMatchObject({ reason: 'CLOCK_SKEW', held: 1 })
    b.clock.skewMs = 0
    expect(await b.messages.collect()).toEqual({ received: 1, held: 0 })
    expect(await waiting(bob)).toBe(0)
    expect(b.messages.receiveProblem).toBeUndefined()
  })

  it('on a storage error keeps every message at the cafe and reports it; acknowledges only what is stored or proven bad', async () => {
    const b = await device(bob)
    const sent = await Promise.all(['a', 'b', 'c'].map(async t => letter(alice, bob, t)))
    for (const e of sent) await inbox.deliver(wire(e), 'alice-peer')
    // A well-signed envelope whose body does not open for bob (lifted from another): proven bad.
    const mallory = accountFromMnemonic(newMnemonic())
    const { sig: _sig, ...lifted } = { ...sent[0], from: mallory.address }
    await inbox.deliver({ ...lifted, sig: toBase64url(mallory.sign(envelopeSigningBytes(lifted))) }, 'mallory-peer')
    expect(await waiting(bob)).toBe(4)

    const full = vi.spyOn(IDBObjectStore.prototype, 'add').mockImplementation(() => { throw new DOMException('the quota has been exceeded', 'QuotaExceededError') })
    expect(await b.messages.collect()).toEqual({ received: 0, held: 3 })
    expect(await waiting(bob)).toBe(3) // the bad one went; the good ones wait
    expect(b.messages.receiveProblem).toMatchObject({ reason: 'STORAGE_FULL', held: 3 })
    expect(await b.messages.count()).toBe(0)

    full.mockRestore()
    expect(await b.messages.collect()).toEqual({ received: 3, held: 0 })
    expect(await waiting(bob)).toBe(0)
    expect((await b.messages.list()).map(m => m.body)).toEqual(['a', 'b', 'c'])
    expect(b.messages.receiveProblem).toBeUndefined()
  })

  it('a push the device cannot store is not acknowledged, and the page is told', async () => {
    const b = await device(bob)
    const peerApp = createPeerApp(b.messages, b.client)
    const e = await letter(alice, bob, 'pushed')
    await inbox.deliver(wire(e), 'alice-peer')
    vi.spyOn(IDBObjectStore.prototype, 'add').mockImplementation(() => { throw new DOMException('the quota has been exceeded', 'QuotaExceededError') })
    const res = await peerApp.fetch(new Request('http://peer/client/v1/inbox', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(e) }), { remotePeer: cafeId })
    expect([res.status, (await res.json() as { error: { reason: string } }).error.reason]).toEqual([507, 'STORAGE_FULL'])
    expect(await waiting(bob)).toBe(1)
    expect(b.messages.receiveProblem?.reason).toBe('STORAGE_FULL')
  })

  describe('direct deliveries', () => {
    const post = async (peerApp: ReturnType<typeof createPeerApp>, e: unknown, remotePeer: string): Promise<{ status: number, reason?: string }> => {
      const res = await peerApp.fetch(new Request('http://peer/client/v1/inbox', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(e) }), { remotePeer })
      const body = await res.json() as { error?: { reason: string } }
      return { status: res.status, ...(body.error != null ? { reason: body.error.reason } : {}) }
    }

    it('from strangers share one budget, whatever peer ids and accounts they use; known senders and reading free it', async () => {
      const b = await device(bob, { unsolicitedCount: 25 })
      const peerApp = createPeerApp(b.messages, b.client)
      const statuses: number[] = []
      // Four fresh accounts on four fresh peer ids, 10 messages each.
      for (let i = 0; i < 4; i++) {
        const stranger = accountFromMnemonic(newMnemonic())
        for (let j = 0; j < 10; j++) {
          const r = await post(peerApp, await letter(stranger, bob, `${i}/${j}`), `stranger-peer-${i}`)
          statuses.push(r.status)
          if (r.status !== 202) expect(r).toEqual({ status: 413, reason: 'INBOX_FULL' })
        }
      }
      expect(statuses.filter(s => s === 202)).toHaveLength(25)
      expect(await b.messages.count()).toBe(25)

      // A sender this device knows (its contact was looked up) is not a stranger.
      const a = await device(alice)
      await a.messages.setProfile('Alice')
      await b.messages.contactOf(alice.address)
      expect(await post(peerApp, await letter(alice, bob, 'from a friend'), 'alice-peer')).toEqual({ status: 202 })

      // Once read, strangers' messages no longer count.
      await b.messages.list()
      expect(await post(peerApp, await letter(accountFromMnemonic(newMnemonic()), bob, 'after reading'), 'stranger-peer-9')).toEqual({ status: 202 })
      expect(await b.messages.count()).toBe(27)
    }, 60_000)

    it('from strangers are bounded in bytes, and by age', async () => {
      const sample = JSON.stringify(await letter(alice, bob, 'x'.repeat(1000))).length
      const b = await device(bob, { unsolicitedBytes: 3 * sample + 10 })
      const peerApp = createPeerApp(b.messages, b.client)
      const stranger = accountFromMnemonic(newMnemonic())
      for (let i = 0; i < 3; i++) expect((await post(peerApp, await letter(stranger, bob, 'x'.repeat(1000)), 's')).status).toBe(202)
      expect(await post(peerApp, await letter(stranger, bob, 'x'.repeat(1000)), 's')).toEqual({ status: 413, reason: 'INBOX_FULL' })

      const old = await letter(alice, bob, 'old', Date.now() - MESSAGE_LIMITS.maxDirectAgeMs - 60_000)
      expect(await post(peerApp, old, 'alice-peer')).toEqual({ status: 400, reason: 'ENVELOPE_TOO_OLD' })
      // The same message through the recipient's cafe is taken (the cafe bounded its age).
      await inbox.deliver(wire(old), 'alice-peer')
      expect((await b.messages.collect()).received).toBe(1)
    })
  })

  it('collects page after page in arrival order, acknowledging each page', async () => {
    const b = await device(bob, { pageSize: 7 })
    const texts = Array.from({ length: 30 }, (_, i) => `m${i}`)
    for (const t of texts) await inbox.deliver(wire(await letter(alice, bob, t)), 'alice-peer')
    expect(await b.messages.collect()).toEqual({ received: 30, held: 0 })
    expect((await b.messages.list()).map(m => m.body)).toEqual(texts)
    expect(await waiting(bob)).toBe(0)
    // The same envelopes again (a push racing a collect) are not new.
    const again = await letter(alice, bob, 'again')
    expect(await b.messages.receiveMany([wire(again), wire(again)], { via: 'cafe' })).toEqual([{ fresh: true }, { fresh: false }])
  })

  describe('sending straight to a peer', () => {
    /**
     * Alice sends to Bob `n` times (`between` runs after each); Bob's own peer fails each dial as
     * `fail` says. Returns her dials to his peer and the routes.
     */
    async function sends (fail: () => Error, n: number, between: (i: number, bobPeer: string) => void = () => {}): Promise<{ dials: number, routes: string[] }> {
      const b = await device(bob)
      await b.messages.setProfile('Bob')
      const bobPeer = (await b.messages.contactOf(bob.address)).peers[0]
      let dials = 0
      const a = await device(alice, {}, (_request, to) => {
        if (to !== bobPeer) return undefined
        dials++
        throw fail()
      }, wake)
      const routes: string[] = []
      for (let i = 0; i < n; i++) { routes.push((await a.messages.send(bob.address, `message ${i}`)).route); between(i, bobPeer) }
      return { dials, routes }
    }
    let wake: Wake
    beforeEach(() => { wake = new Wake() })

    for (const [what, fail] of [['the relay said it is not there', () => new PeerAbsentError('not at its relay now')], ['its dial failed', () => new PeerUnreachableError('timed out')]] as const) {
      it(`does not dial a peer again when ${what}, until it is seen back: a burst goes to the inbox with no dial to wait on`, async () => {
        // Three messages, then Bob's relay says he reserved again (the wake for his peer), then one more.
        const { dials, routes } = await sends(fail, 4, (i, bobPeer) => { if (i === 2) wake.notify('peer', bobPeer) })
        expect(routes).toEqual(['inbox', 'inbox', 'inbox', 'inbox'])
        expect(dials).toBe(2)
      })
    }

    it('tries the peer again after a wake for the whole network (online again)', async () => {
      const { dials } = await sends(() => new PeerAbsentError('not at its relay now'), 3, i => { if (i === 0) wake.notify('online') })
      expect(dials).toBe(2)
    })
  })

  it('sends a reply at once while a delivery receipt to the same person is still on its way', async () => {
    const a = await device(alice)
    await a.messages.setProfile('Alice')
    const alicePeer = (await a.messages.profile())!.peers[0]
    // Bob's first attempt at Alice's own peer hangs until released: his receipt to her, in flight.
    let hold: ((res: Response) => void) | undefined
    let holding = false
    const b = await device(bob, {}, (_request, to) => {
      if (to !== alicePeer || holding) return undefined
      holding = true
      return new Promise<Response>(resolve => { hold = resolve })
    })
    await b.messages.setProfile('Bob')
    await b.messages.contactOf(alice.address)
    await a.messages.contactOf(bob.address)
    const first = await a.messages.send(bob.address, 'first')
    expect((await b.messages.collect()).received).toBe(1)
    await vi.waitFor(() => { expect(hold).toBeDefined() }, { timeout: 10_000, interval: 10 })

    // Before: the reply waited behind the receipt ('queued') until the receipt was through.
    const reply = await b.messages.send(alice.address, 'reply')
    expect(reply.route).toBe('inbox')
    expect(await b.messages.pending()).toBe(0)

    // The receipt goes on (its direct attempt refused, to Alice's cafe) and arrives.
    hold!(new Response(JSON.stringify({ error: { reason: 'PEER_ABSENT', details: 'away' } }), { status: 503, headers: { 'content-type': 'application/json' } }))
    await vi.waitFor(async () => { await a.messages.collect(); expect((await a.messages.sent()).find(s => s.id === first.id)?.state).toBe('delivered') }, { timeout: 10_000, interval: 50 })
    expect((await a.messages.list()).map(m => m.body)).toEqual(['reply'])
  })

  describe('the outbox', () => {
    const paths: string[] = []
    let down = false
    /** A cafe from before the batch route: it answers that path 404 NOT_FOUND. */
    let oldCafe = false
    const watch = (request: Request): Response | undefined => {
      const path = new URL(request.url).pathname
      paths.push(`${request.method} ${path}`)
      if (down) throw new Error('the cafe is unreachable')
      if (oldCafe && path === '/cafe/v1/inbox/batch') return new Response(JSON.stringify({ error: { reason: 'NOT_FOUND', details: 'no route' } }), { status: 404, headers: { 'content-type': 'application/json' } })
      return undefined
    }
    beforeEach(() => { paths.length = 0; down = false; oldCafe = false })

    async function queue (n: number): Promise<{ a: Device, sent: string[] }> {
      const b = await device(bob)
      await b.messages.setProfile('Bob')
      const a = await device(alice, {}, watch)
      await a.messages.contactOf(bob.address)
      down = true
      const sent = Array.from({ length: n }, (_, i) => `queued ${i}`)
      for (const t of sent) expect((await a.messages.send(bob.address, t)).route).toBe('queued')
      down = false
      paths.length = 0
      // Past every backoff.
      a.clock.skewMs = 60 * 60_000
      return { a, sent }
    }
    const flushed = async (a: Device, left: number): Promise<void> => {
      await a.messages.start()
      await vi.waitFor(async () => { expect(await a.messages.pending()).toBe(left) }, { timeout: 10_000, interval: 20 })
    }

    it('flushes to the recipient\'s cafe in batches, in order', async () => {
      const { a, sent } = await queue(150)
      await flushed(a, 0)
      expect(paths.filter(p => p === 'POST /cafe/v1/inbox/batch')).toHaveLength(2)
      expect(paths.filter(p => p === 'POST /cafe/v1/inbox')).toHaveLength(0)
      const held = (await inbox.list(bob.address, { limit: 500 })).messages
      expect(held).toHaveLength(150)
      expect(new Set(held.map(m => m.envelope.from))).toEqual(new Set([alice.address]))
      const b = devices.find(d => d.account === bob)!
      await b.messages.collect()
      expect((await b.messages.list()).map(m => m.body)).toEqual(sent)
    }, 60_000)

    it('keeps in the outbox what the cafe did not store, and only that', async () => {
      inbox.setLimits({ perRecipientCount: 120 })
      const { a } = await queue(150)
      await flushed(a, 30)
      expect((await inbox.count(bob.address)).messages).toBe(120)
      expect(a.messages.lastFailure).toMatch(/most messages/)
    }, 60_000)

    it('falls back to one request per envelope at a cafe without the batch route', async () => {
      const { a } = await queue(5)
      oldCafe = true
      await flushed(a, 0)
      expect(paths.filter(p => p === 'POST /cafe/v1/inbox/batch')).toHaveLength(1)
      expect(paths.filter(p => p === 'POST /cafe/v1/inbox')).toHaveLength(5)
      expect((await inbox.count(bob.address)).messages).toBe(5)
    }, 60_000)
  })
})
