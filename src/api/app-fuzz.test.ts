import 'fake-indexeddb/auto'
import { MemoryBlockstore } from 'blockstore-core/memory'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { accountFromMnemonic, newMnemonic } from '../account/index.ts'
import { ActivityLog, CafeInbox, ContactIndex, MemoryCafeStore, MemoryContactStore, MemoryInboxStore } from '../cafe/index.ts'
import { memoryBackupCafe } from '../../test/fixtures/backup-cafe.ts'
import { testCafeHost } from '../../test/fixtures/cafe-host.ts'
import { blocksOf } from '../ipfs/blocks.ts'
import { toBase64url } from '../shared/bytes.ts'
import { stub } from '../../test/fixtures/stub.ts'
import { BackupChecks } from '../client/checks.ts'
import { BackupOutbox } from '../client/backups.ts'
import { CafeClient } from '../client/cafe-client.ts'
import { Files } from '../client/files.ts'
import { Messages } from '../client/messages.ts'
import { Recoveries } from '../client/recovery.ts'
import { searchContacts } from '../client/search.ts'
import { MemorySessionStore } from '../client/session-store.ts'
import { Threads } from '../client/threads.ts'
import { createLocalApi } from './app.ts'
import type { Account } from '../account/index.ts'
import type { CafeTransport } from '../client/cafe-client.ts'
import type { Helia } from '@helia/interface'
import { expectErrorContract } from '../../test/fixtures/error-contract.ts'

/**
 * Property-based fuzzing of the local API (`/api/v0`), built in Node as the node page builds
 * it (real cafe host, client, files, backups, threads, messages; IndexedDB from
 * fake-indexeddb; one remote cafe reached in-process), with the same properties as the cafe
 * API's fuzz: always a Response, refusals in the error shape with a documented reason, no 500,
 * and a refused request leaves every store (every IndexedDB database, the memory stores and
 * the blockstores) as it was.
 */

let dbs = 0

async function blockDump (bs: MemoryBlockstore): Promise<string[]> {
  const out: string[] = []
  for await (const { cid, bytes } of bs.getAll()) {
    const parts: Uint8Array[] = []
    for await (const b of bytes) parts.push(b)
    out.push(`${cid.toString()}:${parts.map(toBase64url).join('')}`)
  }
  return out.sort()
}

/** Every record of every IndexedDB database (fake-indexeddb), by database and store. */
async function idbDump (): Promise<string> {
  const out: Record<string, unknown> = {}
  for (const { name } of await indexedDB.databases()) {
    if (name == null) continue
    const db = await new Promise<IDBDatabase>((resolve, reject) => { const r = indexedDB.open(name); r.onsuccess = () => { resolve(r.result) }; r.onerror = () => { reject(r.error) } })
    for (const store of [...db.objectStoreNames]) {
      const tx = db.transaction(store, 'readonly')
      const os = tx.objectStore(store)
      const [keys, values] = await Promise.all([os.getAllKeys(), os.getAll()].map(async r => new Promise<unknown[]>((resolve, reject) => { r.onsuccess = () => { resolve(r.result) }; r.onerror = () => { reject(r.error) } })))
      out[`${name}/${store}`] = keys.map((k, i) => [k, values[i]])
    }
    db.close()
  }
  return JSON.stringify(out, (_k, x: unknown) => x instanceof Uint8Array ? toBase64url(x) : x instanceof ArrayBuffer ? toBase64url(new Uint8Array(x)) : x)
}

interface Rig { api: ReturnType<typeof createLocalApi>, snapshot: () => Promise<string>, values: { cafe: string, address: string, token: string, mnemonic: string } }

async function rig (): Promise<Rig> {
  const remote = await memoryBackupCafe({ inbox: true })
  const cafeStore = new MemoryCafeStore()
  const { cafeId: selfId, host: cafe } = await testCafeHost({ store: cafeStore, settings: null })
  const inboxStore = new MemoryInboxStore()
  const inbox = new CafeInbox({ store: inboxStore, isRegistered: async a => (await cafe.clientPeer(a)) != null })
  const contactStore = new MemoryContactStore()
  const contactIndex = await ContactIndex.load(contactStore)
  const activity = new ActivityLog()
  let account: Account = accountFromMnemonic(newMnemonic())
  const transport: CafeTransport = async (target, request) => target.id === remote.cafeId ? remote.app.fetch(request, { remotePeer: selfId }) : Response.json({ error: { reason: 'CAFE_UNREACHABLE', details: `no route to ${target.id}` } }, { status: 503 })
  const sessions = new MemorySessionStore()
  const client = new CafeClient({ account: () => account, store: sessions, transport })
  await client.start()
  const n = ++dbs
  const messages = new Messages({ account: () => account, client, transport, peerId: selfId, connectedPeers: () => [], dbName: `fuzz-${n}/messages` })
  const deviceBlocks = new MemoryBlockstore()
  const blocks = blocksOf(deviceBlocks)
  const files = new Files(stub<Helia>({ blockstore: stub<Helia['blockstore']>(deviceBlocks) }), () => account, `fuzz-${n}/files`)
  const threads = new Threads(() => account, `fuzz-${n}/threads`)
  const backups = new BackupOutbox({ client, blocks, dbName: `fuzz-${n}/backups`, metaOf: async () => ({ app: 'lightcafe' }), snapshotOf: async id => ({ id: threads.snapshotId(id), ciphertext: await threads.seal(await threads.get(id)) }) })
  await backups.start()
  await messages.start()
  const checks = new BackupChecks({ client, outbox: backups, dbName: `fuzz-${n}/backup-checks` })
  const recoveries = new Recoveries({ client, threads, files, blocks })
  const { token } = await remote.host.createToken()
  await client.register(remote.cafeId, token)
  const api = createLocalApi({
    peer: () => ({ peerId: selfId, multiaddrs: [], relays: [], iceServers: [], startedAt: new Date(0).toISOString() }),
    connections: async () => [],
    account: () => account,
    restoreAccount: async mnemonic => { account = accountFromMnemonic(mnemonic); return account },
    cafe,
    activity,
    inbox,
    client,
    checks,
    files,
    backups,
    threads,
    messages,
    search: async (input, onUpdate) => searchContacts({ cafes: async () => (await client.list()).map(s => s.id), ask: async (id, query, options) => (await transport({ id, addrs: [] }, new Request('http://cafe/cafe/v1/search', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(query) }), options)).json(), self: selfId, local: (name, limit) => contactIndex.search(name, limit) }, input, onUpdate),
    recover: async (cafeId, options) => recoveries.start(cafeId, options),
    recovery: cafeId => recoveries.get(cafeId),
    storage: async () => ({ usage: 0, quota: 1e9, persisted: false })
  })
  const snapshot = async (): Promise<string> => JSON.stringify({
    idb: await idbDump(),
    tokens: (await cafeStore.listTokens()).map(t => JSON.stringify(t)).sort(),
    clients: (await cafeStore.listClients()).map(({ lastSeen: _, ...c }) => JSON.stringify(c)).sort(),
    settings: await cafeStore.getSettings(),
    sessions: (await sessions.list()).map(s => JSON.stringify(s)).sort(),
    account: account.address,
    blocks: await blockDump(deviceBlocks)
  })
  return { api, snapshot, values: { cafe: remote.cafeId, address: account.address, token, mnemonic: newMnemonic() } }
}

const ROUTES: Array<[string, string]> = [
  ['GET', '/peer'], ['GET', '/connections'], ['GET', '/account'], ['POST', '/account'], ['GET', '/cafe'], ['PUT', '/cafe'],
  ['POST', '/tokens'], ['GET', '/tokens'], ['DELETE', '/tokens/:x'], ['GET', '/clients'], ['PUT', '/clients/:x'], ['DELETE', '/clients/:x'], ['GET', '/storage'], ['GET', '/activity'],
  ['POST', '/cafes'], ['GET', '/cafes'], ['GET', '/cafes/:x'], ['POST', '/cafes/:x/refresh'], ['POST', '/cafes/messages'], ['GET', '/cafes/:x/recover'], ['DELETE', '/cafes/:x'],
  ['POST', '/files'], ['GET', '/files/:x'], ['PUT', '/profile'], ['GET', '/profile'], ['GET', '/contacts/:x'], ['POST', '/messages'], ['GET', '/messages'], ['GET', '/messages/status'], ['GET', '/messages/sent'], ['GET', '/messages/settings'], ['PUT', '/messages/settings'],
  ['GET', '/search'], ['POST', '/backups'], ['GET', '/backups'], ['GET', '/backups/health'], ['POST', '/backups/check'], ['GET', '/backups/:x'], ['DELETE', '/backups/:x'], ['PUT', '/threads/:x'], ['GET', '/threads']
]
const FIELDS = ['readReceipts', 'mnemonic', 'enabled', 'name', 'open', 'quota', 'inbox', 'cafe', 'token', 'cid', 'to', 'text', 'body', 'meta', 'head', 'peers', 'inboxes', 'limit', 'wait', 'perRecipientCount', 'perRecipientBytes', 'ttlMs', 'content', 'filename', 'type']

function request (): fc.Arbitrary<{ method: string, path: string, headers: Record<string, string>, body?: string | Uint8Array }> {
  const param = fc.oneof(fc.constantFrom('$CAFE', '$ADDR', 'bafkqaaa', 'thread-1', '..', '%00', 'a'.repeat(3000)), fc.string({ maxLength: 60 }).map(encodeURIComponent))
  const routed = fc.tuple(fc.constantFrom(...ROUTES), param).map(([[m, p], x]) => ({ method: m, path: p.replace(':x', x) }))
  const wild = fc.record({ method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD'), path: fc.oneof(fc.constantFrom(...ROUTES.map(r => r[1].replace(':x', 'x'))), fc.string({ maxLength: 40 }).map(s => `/${encodeURIComponent(s)}`)) })
  const query = fc.array(fc.tuple(fc.oneof(fc.constantFrom('name', 'limit', 'wait', 'refresh', 'kind', 'after', 'format', 'stream'), fc.string({ maxLength: 6 })), fc.oneof(fc.constantFrom('true', '1', '0', '-1', '1e9', 'x', 'registration', '99999999999999999999'), fc.string({ maxLength: 30 }))), { maxLength: 3 })
    .map(pairs => pairs.length === 0 ? '' : `?${new URLSearchParams(pairs).toString()}`)
  const fieldsObject = fc.dictionary(fc.constantFrom(...FIELDS), fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom('$CAFE', '$ADDR', '$TOKEN', '$MNEMONIC', 'x'.repeat(70_000))), { maxKeys: 6 })
  const body = fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 4, arbitrary: fieldsObject.map(o => JSON.stringify(o)) },
    { weight: 2, arbitrary: fc.jsonValue().map(j => JSON.stringify(j)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 200_000 }).map(d => '['.repeat(d) + ']'.repeat(d)) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 2_000_000 }).map(k => JSON.stringify({ name: 'x'.repeat(k) })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }) }
  )
  return fc.record({
    target: fc.tuple(fc.oneof({ weight: 3, arbitrary: routed }, { weight: 1, arbitrary: wild }), query),
    contentType: fc.oneof(fc.constantFrom(undefined, 'application/json', 'application/octet-stream', 'text/plain'), fc.string({ maxLength: 20 })),
    extra: fc.array(fc.tuple(fc.constantFrom('origin', 'sec-fetch-site', 'x-filename', 'content-length'), fc.string({ maxLength: 20 })), { maxLength: 2 }),
    body
  }).map(r => {
    const [{ method, path }, q] = r.target
    const headers: Record<string, string> = {}
    if (r.contentType !== undefined) headers['content-type'] = r.contentType
    for (const [k, x] of r.extra) headers[k] = x
    return { method, path: path + q, headers, ...(r.body !== undefined && method !== 'GET' && method !== 'HEAD' ? { body: r.body } : {}) }
  })
}

function build (r: { method: string, path: string, headers: Record<string, string>, body?: string | Uint8Array }, v: Rig['values']): Request | undefined {
  const fill = (text: string): string => text.replace(/\$(CAFE|ADDR|TOKEN|MNEMONIC)/g, (_m, k: string) => ({ CAFE: v.cafe, ADDR: v.address, TOKEN: v.token, MNEMONIC: v.mnemonic })[k]!)
  try {
    const body: BodyInit | undefined = typeof r.body === 'string' ? fill(r.body) : r.body as BodyInit | undefined
    return new Request(`http://app/api/v0${fill(r.path)}`, { method: r.method, headers: r.headers, ...(body !== undefined ? { body } : {}) })
  } catch {
    return undefined
  }
}

async function within<T> (p: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  return Promise.race([p, new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`${what}: no answer within 10 s`)) }, 10_000) })]).finally(() => { clearTimeout(timer) })
}

describe('fuzzing the local API', () => {
  let s: Rig
  beforeAll(async () => { s = await rig() })

  it('answers every request with a Response; refusals carry a documented reason, never 500, and store nothing', async () => {
    const seen = new Map<number, number>()
    await fc.assert(fc.asyncProperty(request(), async r => {
      const req = build(r, s.values)
      if (req == null) return
      const before = await within(s.snapshot(), 'the snapshot before')
      let res: Response
      try {
        let timer: ReturnType<typeof setTimeout> | undefined
        res = await Promise.race([s.api.fetch(req), new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error('no answer within 10 s')) }, 10_000) })]).finally(() => { clearTimeout(timer) })
      } catch (err) {
        throw new Error(`app.fetch threw for ${r.method} ${r.path}: ${String(err)}`, { cause: err })
      }
      expect(res).toBeInstanceOf(Response)
      // A search answers as a stream of updates; its refusals come before it starts.
      const text = res.headers.get('content-type')?.includes('ndjson') === true ? (await res.body?.cancel(), '') : await res.text()
      seen.set(res.status, (seen.get(res.status) ?? 0) + 1)
      expect(res.status, `${r.method} ${r.path.slice(0, 80)}: ${text.slice(0, 200)}`).not.toBe(500)
      if (res.status < 400) return
      if (r.method !== 'HEAD') {
        expectErrorContract(text)
      }
      expect(await within(s.snapshot(), `the snapshot after ${r.method} ${r.path.slice(0, 60)}`), `${r.method} ${r.path.slice(0, 80)} was refused (${res.status} ${text.slice(0, 120)}) but changed a store`).toBe(before)
    }), { numRuns: Number(process.env.FUZZ_RUNS ?? 120) })
    if (process.env.FUZZ_RUNS != null) console.log([...seen].sort())
    expect(seen.get(200) ?? 0).toBeGreaterThan(0)
    expect(seen.get(400) ?? 0).toBeGreaterThan(0)
  }, 60_000 + Number(process.env.FUZZ_RUNS ?? 0) * 500)
})
