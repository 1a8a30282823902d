import { beforeEach, describe, expect, it } from 'vitest'
import { accountFromMnemonic, newMnemonic, registrationMessage } from '../../account/index.ts'
import { boxKeyPair } from '../../account/box.ts'
import { signContact } from '../../contacts/contact.ts'
import { createEnvelope } from '../../inbox/envelope.ts'
import { toBase64url, utf8 } from '../../shared/bytes.ts'
import { createCafeApp } from '../app.ts'
import { MemoryContactStore } from '../contacts/contact-store.ts'
import { CafeContacts } from '../contacts/contacts.ts'
import { CafeHost } from '../host.ts'
import { MemoryCafeStore } from '../store.ts'
import { inboxUsage } from './inbox-api.ts'
import { CafeInbox } from './inbox.ts'
import { MemoryInboxStore } from './inbox-store.ts'
import type { Account } from '../../account/index.ts'
import type { Contact } from '../../contacts/contact.ts'
import type { InboxMessage } from './inbox.ts'
import { testCafeHost } from '../../../test/fixtures/cafe-host.ts'

const contactOf = (account: Account, name: string): Contact => signContact(account, { name, peers: [], inboxes: [], box: toBase64url(boxKeyPair(account.secretKey).publicKey) })

describe('the inbox and contact routes', () => {
  let host: CafeHost
  let store: MemoryCafeStore
  let app: ReturnType<typeof createCafeApp>
  let inbox: CafeInbox
  const alice = accountFromMnemonic(newMnemonic())
  const bob = accountFromMnemonic(newMnemonic())
  const outsider = accountFromMnemonic(newMnemonic())
  const tokens: Record<string, string> = {}

  const call = async (method: string, path: string, opts: { body?: unknown, as?: Account, env?: { remotePeer?: string } } = {}): Promise<{ status: number, body: any }> => {
    const headers: Record<string, string> = {}
    if (opts.as != null) headers.authorization = `Bearer ${tokens[opts.as.address]}`
    const init: RequestInit = { method, headers }
    if (opts.body !== undefined) {
      init.body = JSON.stringify(opts.body)
      headers['content-type'] = 'application/json'
    }
    const res = await app.request(`http://cafe/cafe/v1${path}`, init, opts.env ?? {})
    const text = await res.text()
    return { status: res.status, body: text === '' ? null : JSON.parse(text) }
  }

  beforeEach(async () => {
    store = new MemoryCafeStore()
    const made = await testCafeHost({ store })
    const cafeId = made.cafeId
    host = made.host
    for (const account of [alice, bob]) {
      const { token } = await host.createToken()
      const { nonce } = host.challenge(account.address)
      const sig = toBase64url(account.sign(registrationMessage(cafeId, account.address, nonce)))
      tokens[account.address] = (await host.register({ address: account.address, token, nonce, sig }, '')).access
    }
    inbox = new CafeInbox({ store: new MemoryInboxStore(), isRegistered: async a => (await store.getClient(a)) != null })
    const contacts = new CafeContacts(new MemoryContactStore())
    host.useService(inboxUsage(inbox, contacts))
    app = createCafeApp(host, { services: { inbox, contacts } })
  })

  it('publishes contacts with a session and serves them without one', async () => {
    const mine = contactOf(alice, 'Alice')
    expect(await call('PUT', '/contacts', { body: mine, as: alice })).toEqual({ status: 200, body: mine })
    expect(await call('GET', `/contacts/${alice.address}`)).toEqual({ status: 200, body: mine })
    expect((await call('PUT', '/contacts', { body: contactOf(bob, 'Bob'), as: alice })).body.error.reason).toBe('CONTACT_NOT_YOURS')
    expect((await call('PUT', '/contacts', { body: contactOf(bob, 'Bob') })).status).toBe(401)
    const stale = await call('PUT', '/contacts', { body: mine, as: alice })
    expect(stale.status).toBe(409)
    expect(stale.body.error.reason).toBe('CONTACT_STALE')
    expect((await call('GET', `/contacts/${bob.address}`)).status).toBe(404)
  })

  it('takes deliveries from anyone, lists them to the recipient only, and acknowledges them', async () => {
    const pushed: Array<[string, InboxMessage]> = []
    inbox.onDelivered((to, ms) => { for (const m of ms) pushed.push([to, m]) })
    const e1 = await createEnvelope(outsider, contactOf(alice, 'Alice'), utf8.encode('one'))
    const e2 = await createEnvelope(bob, contactOf(alice, 'Alice'), utf8.encode('two'))

    const d1 = await call('POST', '/inbox', { body: e1, env: { remotePeer: 'someone' } })
    expect(d1).toEqual({ status: 202, body: { id: e1.id, seq: expect.any(Number), duplicate: false } })
    expect((await call('POST', '/inbox', { body: e1, env: { remotePeer: 'someone' } })).body.duplicate).toBe(true)
    expect((await call('POST', '/inbox', { body: e2 })).status).toBe(202)
    expect(pushed.map(([to]) => to)).toEqual([alice.address, alice.address])

    const toOutsider = await createEnvelope(alice, contactOf(outsider, 'Out'), utf8.encode('hi'))
    expect((await call('POST', '/inbox', { body: toOutsider })).body.error.reason).toBe('UNKNOWN_RECIPIENT')
    expect((await call('POST', '/inbox', { body: { ...e2, sig: e1.sig } })).body.error.reason).toBe('BAD_SIGNATURE')
    const tooBig = await app.request('http://cafe/cafe/v1/inbox', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...e1, body: 'A'.repeat(80 * 1024) }) }, {})
    expect(tooBig.status).toBe(413)

    expect((await call('GET', '/inbox')).status).toBe(401)
    expect(await call('GET', '/inbox', { as: bob })).toEqual({ status: 200, body: { messages: [], more: false } })
    const listed = await call('GET', '/inbox', { as: alice })
    expect(listed.status).toBe(200)
    expect(listed.body.more).toBe(false)
    expect(listed.body.messages.map((m: InboxMessage) => m.envelope)).toEqual([e1, e2])
    const paged = await call('GET', `/inbox?after=${listed.body.messages[0].seq as number}&limit=1`, { as: alice })
    expect(paged.body.messages.map((m: InboxMessage) => m.envelope.id)).toEqual([e2.id])
    for (const q of ['?after=x', '?limit=0', '?limit=-1', '?after=', '?limit=501']) expect((await call('GET', `/inbox${q}`, { as: alice })).status).toBe(400)

    expect((await host.listClients()).map(c => c.inbox).sort()).toEqual([0, 2])
    expect((await call('POST', '/inbox/ack', { body: { messages: [{ from: e1.from, id: e1.id }] }, as: bob })).status).toBe(404)
    expect((await call('POST', '/inbox/ack', { body: { messages: 'x' }, as: alice })).status).toBe(400)
    expect(await call('POST', '/inbox/ack', { body: { messages: [e1, e2].map(e => ({ from: e.from, id: e.id })) }, as: alice })).toEqual({ status: 200, body: { deleted: 2 } })
    expect((await call('GET', '/inbox', { as: alice })).body.messages).toEqual([])
  })

  it('takes a batch of envelopes in one request and answers per envelope, in order', async () => {
    const e1 = await createEnvelope(outsider, contactOf(alice, 'Alice'), utf8.encode('one'))
    const e2 = await createEnvelope(outsider, contactOf(bob, 'Bob'), utf8.encode('two'))
    const toOutsider = await createEnvelope(alice, contactOf(outsider, 'Out'), utf8.encode('hi'))
    const res = await call('POST', '/inbox/batch', { body: { envelopes: [e1, toOutsider, e2, e1] }, env: { remotePeer: 'someone' } })
    expect(res.status).toBe(200)
    expect(res.body.results).toEqual([
      { id: e1.id, seq: expect.any(Number), duplicate: false },
      { id: toOutsider.id, error: { reason: 'UNKNOWN_RECIPIENT', details: expect.any(String), status: 404 } },
      { id: e2.id, seq: expect.any(Number), duplicate: false },
      { id: e1.id, seq: res.body.results[0].seq, duplicate: true }
    ])
    expect((await call('GET', '/inbox', { as: alice })).body.messages.map((m: InboxMessage) => m.envelope)).toEqual([e1])
    expect((await call('GET', '/inbox', { as: bob })).body.messages.map((m: InboxMessage) => m.envelope)).toEqual([e2])
    expect((await call('POST', '/inbox/batch', { body: { envelopes: 'x' } })).body.error.reason).toBe('INVALID_FIELD')
    expect((await call('POST', '/inbox/batch', { body: { envelopes: Array.from({ length: 101 }, () => e1) } })).status).toBe(413)
    const tooBig = await app.request('http://cafe/cafe/v1/inbox/batch', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ envelopes: [{ ...e1, body: 'A'.repeat(1024 * 1024) }] }) }, {})
    expect(tooBig.status).toBe(413)
    expect((await tooBig.json()).error.reason).toBe('BODY_TOO_LARGE')
  })

  it('forgets a removed client\'s inbox and contact', async () => {
    await call('PUT', '/contacts', { body: contactOf(alice, 'Alice'), as: alice })
    await call('POST', '/inbox', { body: await createEnvelope(bob, contactOf(alice, 'Alice'), utf8.encode('hi')) })
    expect(await inbox.count(alice.address)).toMatchObject({ messages: 1 })
    await host.removeClient(alice.address)
    expect(await inbox.count(alice.address)).toEqual({ messages: 0, bytes: 0 })
    expect((await call('GET', `/contacts/${alice.address}`)).status).toBe(404)
    // No longer a client: nothing more is kept for it.
    const later = await call('POST', '/inbox', { body: await createEnvelope(bob, contactOf(alice, 'Alice'), utf8.encode('again')) })
    expect(later.body.error.reason).toBe('UNKNOWN_RECIPIENT')
  })

  it('is off with the cafe', async () => {
    await host.setSettings({ enabled: false })
    expect((await call('POST', '/inbox', { body: {} })).status).toBe(503)
    expect((await call('GET', `/contacts/${alice.address}`)).status).toBe(503)
  })
})
