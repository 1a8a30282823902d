import { CafeIdbDatastore } from './idb-datastore.ts'
import { openDB } from 'idb'
import { Key } from 'interface-datastore'
import { describe, expect, it } from 'vitest'
import { DatastoreCafeStore, DatastoreContactStore, DatastoreInboxStore, DatastorePinStore, DatastoreSnapshotStore } from './index.ts'
import { MIGRATED_KEY, OLD_DATABASES, migrateIdbStores } from './migrate-idb.ts'
import type { Contact } from '../../contacts/contact.ts'
import type { InboxRecord, NewInboxRecord } from '../inbox/inbox-store.ts'
import type { PinRecord } from '../pins/pin-store.ts'
import type { SnapshotRecord } from '../snapshots.ts'
import type { CafeSettings, ClientRecord, SessionRecord, TokenRecord } from '../store.ts'
import type { Batch, Datastore } from 'interface-datastore'
import 'fake-indexeddb/auto'

/**
 * The old stores are written here with idb exactly as the old classes did (their schemas and
 * writes, from IdbCafeStore, IdbPinStore, IdbSnapshotStore, IdbContactStore and IdbInboxStore
 * as shipped in 0.1): what a tab cafe of that version left in its profile.
 */
const T0 = '2026-01-01T00:00:00.000Z'
const FUTURE = '2999-01-01T00:00:00.000Z'
const NOW = '2026-06-01T00:00:00.000Z'
const pair = { access: 'acc', exp: FUTURE, refresh: 'ref', rexp: FUTURE }

const tokens: TokenRecord[] = [
  { id: 't1', hash: 'h1', created: T0, usedBy: 'alice' },
  { id: 't2', hash: 'h2', created: T0, revoked: T0 },
  { id: 't3', hash: 'h3', created: T0, usedBy: 'carol', revoked: T0, removed: T0 },
  { id: 't/4', hash: 'h4', created: T0 }
]
const clients: ClientRecord[] = [
  { address: 'alice', peerId: 'peer-a', registered: T0, lastSeen: T0, tokenId: 't1' },
  { address: 'bob', peerId: 'peer-b', registered: T0, lastSeen: T0, tokenId: 't2' }
]
const sessions: SessionRecord[] = [
  { sid: 's1', address: 'alice', peerId: 'peer-a', refreshJti: 'j2', created: T0, previous: { jti: 'j1', until: FUTURE, pair } },
  { sid: 's2', address: 'bob', peerId: 'peer-b', refreshJti: 'k1', created: T0 }
]
const settings: CafeSettings = { enabled: true, name: 'Corner cafe', quotaBytes: 5000, open: false, inbox: { perRecipientCount: 7, ttlMs: 1000 } }
const pins: PinRecord[] = [
  { requestid: 'p1', address: 'alice', cid: 'bafy1', name: 'home', origins: ['/dns4/x/tcp/1'], meta: { k: 'v' }, status: 'pinned', created: T0, blocks: [{ cid: 'bafy1', bytes: 10 }, { cid: 'bafy2', bytes: 20 }], bytes: 30 },
  { requestid: 'p2', address: 'alice', cid: 'bafy3', origins: [], meta: {}, status: 'queued', created: T0, blocks: [], bytes: 0, replaces: 'p1' },
  { requestid: 'p3', address: 'bob', cid: 'bafy4', origins: [], meta: {}, status: 'failed', created: T0, blocks: [], bytes: 0, error: { reason: 'PIN_FAILED', details: 'x' } }
]
const snapshots: SnapshotRecord[] = [
  { address: 'alice', id: 'a1', ciphertext: 'c1', bytes: 2, updated: T0 },
  { address: 'alice', id: 'a2', ciphertext: 'c2', bytes: 2, updated: T0 },
  { address: 'bob', id: 'b1', ciphertext: 'c3', bytes: 2, updated: T0 }
]
const contact = (address: string, updated = T0): Contact => ({ address, name: address, peers: ['p'], inboxes: ['c'], box: 'bx', updated, sig: 's' })
const message = (to: string, i: number, expires = FUTURE): NewInboxRecord => ({
  to, from: 'zed', id: `m${i}`, envelope: { id: `m${i}`, from: 'zed', to, created: T0, body: `b${i}`, sig: 'sg' }, bytes: 100 + i, received: T0, expires
})

interface Old { quotaOnClient?: boolean, messages?: number }

/** A 0.1 tab cafe's databases under `prefix`; the last inbox message is acked (deleted) so the key generator is past the highest seq left. */
async function fillOld (prefix: string, opts: Old = {}): Promise<void> {
  const version = opts.quotaOnClient === true ? 1 : 2
  const cafe = await openDB(`${prefix}/cafe`, version, {
    upgrade (db, oldVersion) {
      if (oldVersion < 1) {
        db.createObjectStore('tokens', { keyPath: 'id' })
        db.createObjectStore('clients', { keyPath: 'address' })
        db.createObjectStore('sessions', { keyPath: 'sid' }).createIndex('address', 'address')
        db.createObjectStore('settings')
      }
      if (oldVersion < 2 && version >= 2) db.createObjectStore('quotas')
    }
  })
  for (const t of tokens) await cafe.put('tokens', t)
  for (const c of clients) await cafe.put('clients', opts.quotaOnClient === true && c.address === 'alice' ? { ...c, quota: 1234 } : c)
  if (version >= 2) await cafe.put('quotas', 1234, 'alice')
  for (const s of sessions) await cafe.put('sessions', s)
  await cafe.put('settings', settings, 'cafe')
  cafe.close()

  const pinDb = await openDB(`${prefix}/cafe-pins`, 1, { upgrade (db) { db.createObjectStore('pins', { keyPath: 'requestid' }) } })
  for (const p of pins) await pinDb.put('pins', p)
  pinDb.close()

  const snapDb = await openDB(`${prefix}/cafe-snapshots`, 1, { upgrade (db) { db.createObjectStore('snapshots', { keyPath: ['address', 'id'] }).createIndex('address', 'address') } })
  for (const s of snapshots) await snapDb.put('snapshots', s)
  snapDb.close()

  const contactDb = await openDB(`${prefix}/cafe-contacts`, 1, { upgrade (db) { db.createObjectStore('contacts', { keyPath: 'address' }) } })
  for (const c of [contact('alice'), contact('bob')]) await contactDb.put('contacts', c)
  contactDb.close()

  const inbox = await openDB(`${prefix}/cafe-inbox`, 1, {
    upgrade (db) {
      const messages = db.createObjectStore('messages', { keyPath: 'seq', autoIncrement: true })
      messages.createIndex('to', 'to')
      messages.createIndex('key', ['to', 'from', 'id'], { unique: true })
      messages.createIndex('toId', ['to', 'id'])
      messages.createIndex('expires', 'expires')
      db.createObjectStore('totals', { keyPath: 'to' })
    }
  })
  const count = opts.messages ?? 5
  const totals = new Map<string, { to: string, messages: number, bytes: number }>()
  let last = 0
  for (let i = 1; i <= count; i++) {
    const m = message(i % 4 === 0 ? 'bob' : 'alice', i)
    last = await inbox.add('messages', m) as number
    const t = totals.get(m.to) ?? { to: m.to, messages: 0, bytes: 0 }
    totals.set(m.to, { to: m.to, messages: t.messages + 1, bytes: t.bytes + m.bytes })
  }
  const acked = await inbox.get('messages', last) as InboxRecord
  await inbox.delete('messages', last)
  totals.get(acked.to)!.messages--
  totals.get(acked.to)!.bytes -= acked.bytes
  for (const t of totals.values()) await inbox.put('totals', t)
  inbox.close()
}

type Records = Record<keyof typeof OLD_DATABASES, Datastore>

async function openNew (prefix: string): Promise<{ records: Records, close: () => void }> {
  const open = async (name: string): Promise<CafeIdbDatastore> => { const ds = new CafeIdbDatastore(`${prefix}/cafe-records/${name}`); await ds.open(); return ds }
  const [cafe, pins, snapshots, contacts, inbox] = await Promise.all(['cafe', 'pins', 'snapshots', 'contacts', 'inbox'].map(open))
  return { records: { cafe, pins, snapshots, contacts, inbox }, close: () => { for (const ds of [cafe, pins, snapshots, contacts, inbox]) ds.close() } }
}

const names = async (): Promise<string[]> => (await indexedDB.databases()).map(d => d.name!)

/** A datastore whose batches fail from the `failFrom`-th commit on: a tab killed mid-migration. */
function failing (ds: Datastore, failFrom: number): Datastore {
  let commits = 0
  return new Proxy(ds, {
    get (target, prop) {
      if (prop !== 'batch') { const v = Reflect.get(target, prop); return typeof v === 'function' ? v.bind(target) : v }
      return (): Batch => {
        const inner = target.batch()
        return {
          put: (k, v) => { inner.put(k, v) },
          delete: k => { inner.delete(k) },
          commit: async () => { if (++commits >= failFrom) throw new Error('killed'); await inner.commit() }
        }
      }
    }
  })
}

/** Every old record, read back through the new stores. */
async function expectAllMigrated (records: Records, opts: { messages: number }): Promise<void> {
  const cafe = new DatastoreCafeStore(records.cafe)
  expect((await cafe.listTokens()).sort((a, b) => a.id.localeCompare(b.id))).toEqual([...tokens].sort((a, b) => a.id.localeCompare(b.id)))
  expect(await cafe.getClient('alice')).toEqual({ ...clients[0], quota: 1234 })
  expect(await cafe.getClient('bob')).toEqual(clients[1])
  expect((await cafe.listClients()).length).toBe(2)
  expect(await cafe.getSession('s1')).toEqual(sessions[0])
  expect(await cafe.getSession('s2')).toEqual(sessions[1])
  expect(await cafe.getSettings()).toEqual(settings)
  // The refresh-rotation state works: a retry with the old jti gets its pair, an older one is a reuse.
  expect(await cafe.rotateRefresh('s1', 'j1', { jti: 'j3', until: FUTURE, pair }, NOW)).toEqual({ replay: pair })
  expect(await cafe.rotateRefresh('s1', 'j0', { jti: 'j3', until: FUTURE, pair }, NOW)).toBe('reused')
  // Sessions are indexed by address: removing bob removes his session.
  expect(await cafe.removeClient('bob')).toBe(true)
  expect(await cafe.getSession('s2')).toBeUndefined()

  const pinStore = new DatastorePinStore(records.pins)
  expect((await pinStore.all()).sort((a, b) => a.requestid.localeCompare(b.requestid))).toEqual(pins)

  const snaps = new DatastoreSnapshotStore(records.snapshots)
  expect((await snaps.list('alice')).sort((a, b) => a.id.localeCompare(b.id))).toEqual(snapshots.slice(0, 2))
  expect(await snaps.get('bob', 'b1')).toEqual(snapshots[2])
  // Counted per client: alice holds 2, so with a bound of 2 a third is refused, a rewrite is not.
  expect(await snaps.put({ ...snapshots[0], id: 'a3' }, 2)).toBe(false)
  expect(await snaps.put({ ...snapshots[0], ciphertext: 'new' }, 2)).toBe(true)

  const contacts = new DatastoreContactStore(records.contacts)
  expect(await contacts.get('alice')).toEqual(contact('alice'))
  expect((await contacts.all()).length).toBe(2)

  const inbox = new DatastoreInboxStore(records.inbox)
  const kept = Array.from({ length: opts.messages - 1 }, (_, i) => i + 1)
  const of = (to: string): number[] => kept.filter(i => (i % 4 === 0 ? 'bob' : 'alice') === to)
  const alice = await inbox.list('alice', 0, 10_000, NOW)
  expect(alice.map(m => m.seq)).toEqual(of('alice'))
  expect(alice[0]).toEqual({ ...message('alice', 1), seq: 1 })
  expect((await inbox.list('bob', 0, 10_000, NOW)).map(m => m.seq)).toEqual(of('bob'))
  expect(await inbox.usage('alice')).toEqual({ messages: of('alice').length, bytes: of('alice').reduce((s, i) => s + 100 + i, 0) })
  // A redelivery of a held message is a duplicate, and a new one goes on past the acked seq.
  expect(await inbox.add(message('alice', 1), { maxCount: 100_000, maxBytes: 1e9 }, NOW)).toMatchObject({ duplicate: { seq: 1 } })
  expect(await inbox.add(message('alice', 9999), { maxCount: 100_000, maxBytes: 1e9 }, NOW)).toMatchObject({ added: { seq: opts.messages + 1 } })
}

describe('moving a 0.1 tab cafe\'s IndexedDB stores to the datastore stores', () => {
  it('moves every record, writes the marker, deletes the old databases, and runs once', async () => {
    await fillOld('mig-a')
    const { records, close } = await openNew('mig-a')
    const migration = await migrateIdbStores('mig-a', records)
    expect(migration).toMatchObject({ ran: true, counts: { cafe: 4 + 2 + 2 + 1, pins: 3, snapshots: 3, contacts: 2, inbox: 4 } })
    await migration.removed
    const left = await names()
    for (const old of Object.values(OLD_DATABASES)) expect(left).not.toContain(`mig-a/${old}`)
    expect(await records.cafe.has(MIGRATED_KEY)).toBe(true)
    await expectAllMigrated(records, { messages: 5 })
    // Once marked, a start reads nothing (and a new record stays).
    await fillOld('mig-a')
    const again = await migrateIdbStores('mig-a', records)
    expect(again.ran).toBe(false)
    await again.removed
    expect((await new DatastorePinStore(records.pins).all()).length).toBe(3)
    close()
  })

  it('reads quotas kept on the client record (the cafe database at version 1)', async () => {
    await fillOld('mig-v1', { quotaOnClient: true })
    const { records, close } = await openNew('mig-v1')
    await migrateIdbStores('mig-v1', records)
    const cafe = new DatastoreCafeStore(records.cafe)
    expect(await cafe.getClient('alice')).toEqual({ ...clients[0], quota: 1234 })
    // The quota moves to its own key, by address, as the datastore store keeps it.
    expect(JSON.parse(new TextDecoder().decode(await records.cafe.get(new Key('/cafe/client/alice'))))).toEqual(clients[0])
    expect(JSON.parse(new TextDecoder().decode(await records.cafe.get(new Key('/cafe/quota/alice'))))).toBe(1234)
    close()
  })

  it('a start without old databases creates none and marks itself done', async () => {
    const { records, close } = await openNew('mig-fresh')
    const migration = await migrateIdbStores('mig-fresh', records)
    expect(migration).toMatchObject({ ran: true, counts: { cafe: 0, pins: 0, snapshots: 0, contacts: 0, inbox: 0 } })
    const left = await names()
    for (const old of Object.values(OLD_DATABASES)) expect(left).not.toContain(`mig-fresh/${old}`)
    expect(await records.cafe.has(MIGRATED_KEY)).toBe(true)
    close()
  })

  it('a migration killed in the middle of the inbox leaves the old data and no marker; the next start completes it without duplicates', async () => {
    const messages = 600
    await fillOld('mig-kill', { messages })
    const { records, close } = await openNew('mig-kill')
    // Cafe, pins, snapshots and contacts land; the inbox's second batch of 256 fails.
    await expect(migrateIdbStores('mig-kill', { ...records, inbox: failing(records.inbox, 2) })).rejects.toMatchObject({ reason: 'STORAGE_ERROR' })
    expect(await records.cafe.has(MIGRATED_KEY)).toBe(false)
    for (const old of Object.values(OLD_DATABASES)) expect(await names()).toContain(`mig-kill/${old}`)
    let held = 0
    for await (const _ of records.inbox.queryKeys({ prefix: '/inbox/m/' })) held++
    expect(held).toBe(256)

    const rerun = await migrateIdbStores('mig-kill', records)
    expect(rerun).toMatchObject({ ran: true, counts: { inbox: messages - 1 } })
    await rerun.removed
    await expectAllMigrated(records, { messages })
    close()
  })

  it('never overwrites a record already in the new stores', async () => {
    await fillOld('mig-keep')
    const { records, close } = await openNew('mig-keep')
    const newer = contact('alice', '2026-05-01T00:00:00.000Z')
    await new DatastoreContactStore(records.contacts).put(newer)
    await migrateIdbStores('mig-keep', records)
    expect(await new DatastoreContactStore(records.contacts).get('alice')).toEqual(newer)
    expect(await new DatastoreContactStore(records.contacts).get('bob')).toEqual(contact('bob'))
    close()
  })
})
