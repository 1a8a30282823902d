import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryDatastore } from 'datastore-core'
import { LevelDatastore } from 'datastore-level'
import { afterAll, describe, expect, it } from 'vitest'
import { DatastoreCafeStore, DatastoreContactStore, DatastoreInboxStore, DatastorePinStore, DatastoreSnapshotStore } from './index.ts'
import type { Contact } from '../../contacts/contact.ts'
import type { Envelope } from '../../inbox/envelope.ts'
import type { NewInboxRecord } from '../inbox/inbox-store.ts'
import type { PinRecord } from '../pins/pin-store.ts'
import type { ClientRecord, SessionRecord, TokenRecord } from '../store.ts'
import type { Datastore } from 'interface-datastore'
import { CafeIdbDatastore } from './idb-datastore.ts'
import 'fake-indexeddb/auto'

/**
 * Each store's behaviour against every backend it runs on: datastore-core's memory store,
 * datastore-idb (fake-indexeddb: the browser's backend) and datastore-level (Node's, on disk).
 * `reopen` gives a fresh datastore over the same data: what a restarted process sees.
 */
interface Backend { open(): Promise<Datastore>, reopen(ds: Datastore): Promise<Datastore> }

const dirs: string[] = []
const paths = new WeakMap<Datastore, string>()
let n = 0
const backends: Record<string, Backend> = {
  memory: { open: async () => new MemoryDatastore(), reopen: async ds => ds },
  // The cafe's own IndexedDB datastore (what the tab cafe ships), over fake-indexeddb.
  indexeddb: {
    open: async () => { const ds = new CafeIdbDatastore(`ds-test-${++n}`); await ds.open(); paths.set(ds, `ds-test-${n}`); return ds },
    reopen: async ds => {
      const name = paths.get(ds)!
      await (ds as CafeIdbDatastore).close()
      const again = new CafeIdbDatastore(name)
      await again.open()
      paths.set(again, name)
      return again
    }
  },
  level: {
    open: async () => {
      const dir = await mkdtemp(join(tmpdir(), 'lightcafe-ds-'))
      dirs.push(dir)
      const ds = new LevelDatastore(join(dir, 'db'))
      await ds.open()
      paths.set(ds, join(dir, 'db'))
      return ds
    },
    reopen: async ds => {
      const path = paths.get(ds)!
      await (ds as LevelDatastore).close()
      const again = new LevelDatastore(path)
      await again.open()
      paths.set(again, path)
      return again
    }
  }
}
afterAll(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }) })

const T0 = '2026-01-01T00:00:00.000Z'
const token = (id: string, extra: Partial<TokenRecord> = {}): TokenRecord => ({ id, hash: `h-${id}`, created: T0, ...extra })
const client = (address: string, tokenId: string): ClientRecord => ({ address, peerId: `peer-${address}`, registered: T0, lastSeen: T0, tokenId })
const session = (sid: string, address: string): SessionRecord => ({ sid, address, peerId: `peer-${address}`, refreshJti: `j-${sid}`, created: T0 })
const pair = { access: 'a', exp: T0, refresh: 'r', rexp: T0 }

describe.each(Object.keys(backends))('the cafe store on %s', kind => {
  const b = backends[kind]

  it('registers token, client and session together, and refuses a revoked or foreign token without writing', async () => {
    const store = new DatastoreCafeStore(await b.open())
    await store.putToken(token('t1'))
    await store.register({ client: client('alice', 't1'), session: session('s1', 'alice'), tokenId: 't1' })
    expect((await store.getToken('t1'))?.usedBy).toBe('alice')
    expect((await store.getClient('alice'))?.peerId).toBe('peer-alice')
    expect((await store.getSession('s1'))?.address).toBe('alice')
    await expect(store.register({ client: client('bob', 't1'), session: session('s2', 'bob'), tokenId: 't1' })).rejects.toMatchObject({ reason: 'TOKEN_USED' })
    await store.putToken(token('t2', { revoked: T0 }))
    await expect(store.register({ client: client('carol', 't2'), session: session('s3', 'carol'), tokenId: 't2' })).rejects.toMatchObject({ reason: 'TOKEN_REVOKED' })
    expect(await store.getClient('bob')).toBeUndefined()
    expect(await store.getSession('s2')).toBeUndefined()
    expect((await store.listClients()).map(c => c.address)).toEqual(['alice'])
  })

  it('two registrations racing for one token: exactly one account gets it', async () => {
    const store = new DatastoreCafeStore(await b.open())
    await store.putToken(token('t1'))
    const results = await Promise.allSettled(['a', 'b', 'c'].map(async (who, i) => store.register({ client: client(who, 't1'), session: session(`s${i}`, who), tokenId: 't1' })))
    expect(results.filter(r => r.status === 'fulfilled')).toHaveLength(1)
    expect(await store.listClients()).toHaveLength(1)
  })

  it('rotates a refresh once, replays within the window, calls anything else reuse', async () => {
    const store = new DatastoreCafeStore(await b.open())
    await store.putToken(token('t1'))
    await store.register({ client: client('alice', 't1'), session: session('s1', 'alice'), tokenId: 't1' })
    const next = { jti: 'j2', until: '2026-01-01T00:01:00.000Z', pair }
    const [first, second] = await Promise.all([store.rotateRefresh('s1', 'j-s1', next, T0), store.rotateRefresh('s1', 'j-s1', { ...next, jti: 'j3' }, T0)])
    expect(first).toBe('rotated')
    expect(second).toEqual({ replay: pair })
    expect(await store.rotateRefresh('s1', 'j-s1', next, '2026-01-01T00:02:00.000Z')).toBe('reused')
    expect(await store.rotateRefresh('nope', 'x', next, T0)).toBe('gone')
    expect((await store.getSession('s1'))?.refreshJti).toBe('j2')
  })

  it('removes a client with all its sessions, revokes its tokens, and keeps its quota apart', async () => {
    const ds = await b.open()
    let store = new DatastoreCafeStore(ds)
    await store.putToken(token('t1'))
    await store.putToken(token('t2'))
    await store.register({ client: client('alice', 't1'), session: session('s1', 'alice'), tokenId: 't1' })
    await store.register({ client: client('alice', 't1'), session: session('s2', 'alice'), tokenId: 't1' })
    await store.register({ client: client('bob', 't2'), session: session('s3', 'bob'), tokenId: 't2' })
    expect(await store.setClientQuota('alice', 5000)).toBe(true)
    expect(await store.setClientQuota('nobody', 5000)).toBe(false)
    await store.touchClient('alice', '2026-02-01T00:00:00.000Z')
    // A restart rebuilds which sessions are whose.
    const again = await b.reopen(ds)
    store = new DatastoreCafeStore(again)
    expect(await store.getClient('alice')).toMatchObject({ quota: 5000, lastSeen: '2026-02-01T00:00:00.000Z' })
    expect(await store.removeClient('alice', { revokeTokens: T0 })).toBe(true)
    expect(await store.getSession('s1')).toBeUndefined()
    expect(await store.getSession('s2')).toBeUndefined()
    expect(await store.getSession('s3')).toBeDefined()
    expect(await store.getToken('t1')).toMatchObject({ revoked: T0, removed: T0 })
    expect((await store.getToken('t2'))?.revoked).toBeUndefined()
    expect(await store.removeClient('alice')).toBe(false)
    // The quota outlives the client: it applies again when the owner invites it back.
    await store.putToken(token('t4'))
    await store.register({ client: client('alice', 't4'), session: session('s4', 'alice'), tokenId: 't4' })
    expect((await store.getClient('alice'))?.quota).toBe(5000)
    expect((await store.listClients()).find(c => c.address === 'alice')?.quota).toBe(5000)
    await store.deleteSession('s4')
    expect(await store.getSession('s4')).toBeUndefined()
  })

  it('keeps settings over the defaults', async () => {
    const ds = await b.open()
    const store = new DatastoreCafeStore(ds)
    expect((await store.getSettings()).quotaBytes).toBe(1024 ** 3)
    await store.putSettings({ enabled: true, name: 'Pi', quotaBytes: 10, open: false })
    expect(await new DatastoreCafeStore(await b.reopen(ds)).getSettings()).toEqual({ enabled: true, name: 'Pi', quotaBytes: 10, open: false })
  })
})

const envelope = (from: string, to: string, id: string): Envelope => ({ id, from, to, created: T0, body: 'b', sig: 's' })
const message = (from: string, to: string, id: string, bytes = 10, expires = '2026-01-02T00:00:00.000Z'): NewInboxRecord => ({ to, from, id, envelope: envelope(from, to, id), bytes, received: T0, expires })
const quota = { maxCount: 3, maxBytes: 100 }

describe.each(Object.keys(backends))('the inbox store on %s', kind => {
  const b = backends[kind]

  it('adds in order, knows a re-delivery, refuses past the quota by count and by bytes', async () => {
    const store = new DatastoreInboxStore(await b.open())
    const first = await store.add(message('s', 'r', '1'), quota, T0)
    expect(first).toMatchObject({ added: { seq: 1 } })
    expect(await store.add(message('s', 'r', '1'), quota, T0)).toMatchObject({ duplicate: { seq: 1 } })
    // Another sender's message under the same id is another message.
    expect(await store.add(message('t', 'r', '1'), quota, T0)).toMatchObject({ added: { seq: 2 } })
    expect(await store.add(message('s', 'r', 'big', 81), quota, T0)).toEqual({ full: 'bytes' })
    expect(await store.add(message('s', 'r', '2'), quota, T0)).toMatchObject({ added: { seq: 3 } })
    expect(await store.add(message('s', 'r', '3'), quota, T0)).toEqual({ full: 'count' })
    expect(await store.usage('r')).toEqual({ messages: 3, bytes: 30 })
    expect((await store.list('r', 0, 10, T0)).map(m => m.seq)).toEqual([1, 2, 3])
    expect((await store.list('r', 1, 1, T0)).map(m => m.seq)).toEqual([2])
    expect(await store.list('other', 0, 10, T0)).toEqual([])
  })

  it('acknowledges by sender and id, all or nothing', async () => {
    const store = new DatastoreInboxStore(await b.open())
    await store.add(message('s', 'r', '1'), quota, T0)
    await store.add(message('t', 'r', '1'), quota, T0)
    expect(await store.ack('r', [{ from: 's', id: '1' }, { from: 's', id: 'missing' }])).toBeUndefined()
    expect((await store.usage('r')).messages).toBe(2)
    expect(await store.ack('r', [{ from: 's', id: '1' }, { from: 's', id: '1' }])).toBe(1)
    expect((await store.list('r', 0, 10, T0)).map(m => m.from)).toEqual(['t'])
  })

  it('expires: an expired copy is replaced, deleteExpired counts, and seqs are never reused after a restart', async () => {
    let ds = await b.open()
    let store = new DatastoreInboxStore(ds)
    await store.add(message('s', 'r', '1', 10, '2026-01-01T00:00:01.000Z'), quota, T0)
    await store.add(message('s', 'r', '2', 10, '2026-01-01T00:00:01.000Z'), quota, T0)
    await store.add(message('s', 'q', '1'), quota, T0)
    const later = '2026-01-01T00:00:05.000Z'
    expect(await store.list('r', 0, 10, later)).toEqual([])
    expect(await store.add(message('s', 'r', '1'), quota, later)).toMatchObject({ added: { seq: 4 } })
    expect(await store.usage('r')).toEqual({ messages: 2, bytes: 20 })
    expect(await store.deleteExpired(later)).toBe(1)
    await store.ack('q', [{ from: 's', id: '1' }])
    ds = await b.reopen(ds)
    store = new DatastoreInboxStore(ds)
    expect(await store.usage('r')).toEqual({ messages: 1, bytes: 10 })
    expect(await store.add(message('s', 'r', '9'), quota, later)).toMatchObject({ added: { seq: 5 } })
    await store.deleteAll('r')
    expect(await store.usage('r')).toEqual({ messages: 0, bytes: 0 })
    expect(await new DatastoreInboxStore(await b.reopen(ds)).list('r', 0, 10, T0)).toEqual([])
  })

  it('adds many in one step: in order, later ones see earlier ones, one quota, kept across a restart', async () => {
    const ds = await b.open()
    const store = new DatastoreInboxStore(ds)
    await store.add(message('s', 'r', '0'), quota, T0)
    const out = await store.addMany([
      message('s', 'r', '1'), message('s', 'r', '1'), message('s', 'r', '0'),
      message('s', 'r', 'big', 81), message('t', 'q', '1'), message('s', 'r', '2'), message('s', 'r', '3')
    ], quota, T0)
    expect(out).toMatchObject([
      { added: { seq: 2 } }, { duplicate: { seq: 2 } }, { duplicate: { seq: 1 } },
      { full: 'bytes' }, { added: { seq: 3, to: 'q' } }, { added: { seq: 4 } }, { full: 'count' }
    ])
    expect(await store.usage('r')).toEqual({ messages: 3, bytes: 30 })
    const again = new DatastoreInboxStore(await b.reopen(ds))
    expect((await again.list('r', 0, 10, T0)).map(m => m.id)).toEqual(['0', '1', '2'])
    expect(await again.add(message('s', 'q', '9'), quota, T0)).toMatchObject({ added: { seq: 5 } })
  })

  it('concurrent deliveries cannot both take the last place', async () => {
    const store = new DatastoreInboxStore(await b.open())
    const results = await Promise.all(['1', '2', '3', '4', '5'].map(async id => store.add(message('s', 'r', id), quota, T0)))
    expect(results.filter(r => 'added' in r)).toHaveLength(3)
    expect((await store.usage('r')).messages).toBe(3)
  })
})

const pin = (requestid: string): PinRecord => ({ requestid, address: 'alice', cid: 'bafy', origins: [], meta: { a: 'b' }, status: 'pinned', created: T0, blocks: [], bytes: 3 })
const contact = (address: string, name: string, updated: string): Contact => ({ address, name, peers: [], inboxes: [], box: 'x', updated, sig: 's' })

describe.each(Object.keys(backends))('pins, snapshots and contacts on %s', kind => {
  const b = backends[kind]

  it('pins: put, replace, delete, survive a restart', async () => {
    const ds = await b.open()
    const store = new DatastorePinStore(ds)
    await store.put(pin('r/1'))
    await store.put(pin('r2'))
    await store.put({ ...pin('r2'), status: 'failed' })
    await store.delete('r/1')
    expect(await new DatastorePinStore(await b.reopen(ds)).all()).toEqual([{ ...pin('r2'), status: 'failed' }])
  })

  it('snapshots: bounded per client even when puts race; deleteAll takes one client\'s only', async () => {
    const ds = await b.open()
    const store = new DatastoreSnapshotStore(ds)
    const snap = (address: string, id: string): { address: string, id: string, ciphertext: string, bytes: number, updated: string } => ({ address, id, ciphertext: 'c', bytes: 1, updated: T0 })
    const puts = await Promise.all(['a', 'b', 'c', 'd'].map(async id => store.put(snap('alice', id), 2)))
    expect(puts.filter(Boolean)).toHaveLength(2)
    const kept = (await store.list('alice')).map(s => s.id)
    // Replacing a held one is not a new one.
    expect(await store.put(snap('alice', kept[0]), 2)).toBe(true)
    await store.put(snap('bob', 'a'), 2)
    expect(await store.delete('alice', 'nope')).toBe(false)
    expect(await store.delete('alice', kept[0])).toBe(true)
    const after = new DatastoreSnapshotStore(await b.reopen(ds))
    expect((await after.list('alice')).map(s => s.id)).toEqual([kept[1]])
    expect(await after.get('bob', 'a')).toMatchObject({ ciphertext: 'c' })
    await after.deleteAll('alice')
    expect(await after.list('alice')).toEqual([])
    expect(await after.list('bob')).toHaveLength(1)
  })

  it('contacts: a newer one replaces, an older one is refused, racing or not', async () => {
    const store = new DatastoreContactStore(await b.open())
    expect(await store.put(contact('alice', 'A1', '2026-01-01T00:00:01.000Z'))).toBe(true)
    const [older, newer] = await Promise.all([store.put(contact('alice', 'A0', '2026-01-01T00:00:00.000Z')), store.put(contact('alice', 'A2', '2026-01-01T00:00:02.000Z'))])
    expect([older, newer]).toEqual([false, true])
    expect((await store.get('alice'))?.name).toBe('A2')
    expect(await store.delete('alice')).toBe(true)
    expect(await store.delete('alice')).toBe(false)
    expect(await store.all()).toEqual([])
  })
})
