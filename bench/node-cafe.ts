import '../relay/polyfill.ts'
import '../server/websocket-polyfill.ts'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { FsBlockstore } from 'blockstore-fs'
import { NextToLast } from 'blockstore-fs/sharding'
import { LevelDatastore } from 'datastore-level'
import { createLibp2p } from 'libp2p'
import { CID } from 'multiformats/cid'
import { Key } from 'interface-datastore'
import { accountFromMnemonic, newMnemonic } from '../src/account/index.ts'
import { boxKeyPair } from '../src/account/box.ts'
import { createEnvelope } from '../src/inbox/envelope.ts'
import { toBase64url } from '../src/shared/bytes.ts'
import { syncedFsBlocks } from '../server/synced-blocks.ts'
import { SyncedLevelDatastore } from '../server/synced-records.ts'
import { DatastoreInboxStore, DatastorePinStore } from '../src/cafe/datastore/index.ts'
import { blockKey } from '../src/ipfs/blocks.ts'
import { CafeClient } from '../src/client/cafe-client.ts'
import { libp2pTransport } from '../src/client/libp2p-transport.ts'
import { MemorySessionStore } from '../src/client/session-store.ts'
import { httpOverLibp2p } from '../src/node/http/index.ts'
import { startNodeCafe } from '../server/node-cafe.ts'
import { call, collect, dag, registerOverHttp } from '../server/test-helpers.ts'
import type { HttpOverLibp2p } from '../src/node/http/index.ts'
import type { Libp2p } from '@libp2p/interface'

/**
 * Figures for the headless cafe (docs/notes/measurements.md): pin ingest in process, over HTTP and over
 * libp2p WebSockets against writing the same blocks to blockstore-fs directly; inbox records
 * stored per second on LevelDB against raw LevelDB puts of the same bytes; start-up time with
 * 10,000 pins on disk. Prints one JSON object; never fails by time.
 */
const MiB = 1024 * 1024
const SIZE = Number(process.env.BENCH_MIB ?? 64)
const root = await mkdtemp(join(tmpdir(), 'lightcafe-bench-node-'))
const out: Record<string, unknown> = { sizeMiB: SIZE }
const mbps = (bytes: number, ms: number): number => Math.round(bytes / MiB / (ms / 1000) * 10) / 10

try {
  // Raw limit: the same blocks written to blockstore-fs, one at a time (as an ingest stores them).
  const raw = await dag(SIZE * 4, 256 * 1024, 1)
  const fs = new FsBlockstore(join(root, 'raw-blocks'))
  await fs.open()
  let t = performance.now()
  for (const [cid, bytes] of raw.blocks) await fs.put(CID.parse(cid), bytes)
  const rawMs = performance.now() - t
  out.rawBlockstoreMBps = mbps(SIZE * MiB, rawMs)
  // Raw limit of what the cafe now does (issue 24): the same blocks written synced, in the
  // write-behind's batches of 4 MiB (each file synced, then its folders once a batch).
  const sharding = new NextToLast()
  const syncedStore = new FsBlockstore(join(root, 'raw-synced-blocks'), { shardingStrategy: sharding })
  await syncedStore.open()
  const syncedBlocks = syncedFsBlocks(syncedStore, sharding)
  const rawList = [...raw.blocks].map(([cid, bytes]) => ({ cid: CID.parse(cid), bytes }))
  t = performance.now()
  for (let i = 0; i < rawList.length; i += 16) await syncedBlocks.putMany!(rawList.slice(i, i + 16))
  out.rawSyncedBlockstoreMBps = mbps(SIZE * MiB, performance.now() - t)

  const node = await startNodeCafe({ dir: join(root, 'cafe'), host: '127.0.0.1', ports: { tcp: 0, ws: 0, http: 0, owner: 0 } })
  const owner = { authorization: `Bearer ${(await readFile(node.ownerSecretFile, 'utf8')).trim()}` }
  await call(node.owner.url, 'PUT', '/api/v0/cafe', { enabled: true, quotaBytes: 8 * 1024 * MiB }, owner)
  const token = async (): Promise<string> => (await call(node.owner.url, 'POST', '/api/v0/tokens', undefined, owner)).body.token
  const cafeId = node.libp2p.peerId.toString()

  // In process: the cafe app's upload route with the CAR as the body, no network.
  const inProc = await registerOverHttp(node.http.url, cafeId, await token())
  const d1 = await dag(SIZE * 4, 256 * 1024, 2)
  const car1 = await collect(d1.car())
  t = performance.now()
  let res = await node.cafe.app.fetch(new Request('http://cafe/cafe/v1/uploads', { method: 'POST', headers: { authorization: `Bearer ${inProc.access}` }, body: car1 }), { remotePeer: 'http' })
  if (res.status !== 201) throw new Error(`in-process upload answered ${res.status}: ${await res.text()}`)
  out.inProcessMBps = mbps(car1.byteLength, performance.now() - t)

  // Over real HTTP (loopback).
  const d2 = await dag(SIZE * 4, 256 * 1024, 3)
  const car2 = await collect(d2.car())
  t = performance.now()
  res = await fetch(`${node.http.url}/cafe/v1/uploads`, { method: 'POST', headers: { authorization: `Bearer ${inProc.access}` }, body: car2 })
  if (res.status !== 201) throw new Error(`HTTP upload answered ${res.status}`)
  out.httpMBps = mbps(car2.byteLength, performance.now() - t)

  // Over libp2p WebSockets (Noise, Yamux, our HTTP framing with flow control), as a browser client sends it.
  const client = await createLibp2p({ transports: [webSockets()], connectionEncrypters: [noise()], streamMuxers: [yamux()], connectionGater: { denyDialMultiaddr: async () => false }, services: { identify: identify(), http: httpOverLibp2p() } }) as unknown as Libp2p<{ http: HttpOverLibp2p }>
  const ws = node.multiaddrs.find(ma => ma.includes('/ws/'))!
  const account = accountFromMnemonic(newMnemonic())
  const cafeClient = new CafeClient({ account: () => account, store: new MemorySessionStore(), transport: libp2pTransport(client.services.http, () => []) })
  await cafeClient.register(ws, await token())
  const session = await cafeClient.get(cafeId)
  const d3 = await dag(SIZE * 4, 256 * 1024, 4)
  const car3 = await collect(d3.car())
  t = performance.now()
  res = await client.services.http.fetch(multiaddr(ws), new Request('http://cafe/cafe/v1/uploads', { method: 'POST', headers: { authorization: `Bearer ${session.access}` }, body: car3, duplex: 'half' } as RequestInit))
  if (res.status !== 201) throw new Error(`WebSocket upload answered ${res.status}`)
  await res.body?.cancel()
  out.webSocketsMBps = mbps(car3.byteLength, performance.now() - t)
  await client.stop()
  await node.stop()
  out.ingestVsRawSynced = { inProcess: Math.round((out.inProcessMBps as number) / (out.rawSyncedBlockstoreMBps as number) * 100) / 100, http: Math.round((out.httpMBps as number) / (out.rawSyncedBlockstoreMBps as number) * 100) / 100, webSockets: Math.round((out.webSocketsMBps as number) / (out.rawSyncedBlockstoreMBps as number) * 100) / 100 }
  out.ingestRatios = { inProcessVsRaw: Math.round((out.inProcessMBps as number) / (out.rawBlockstoreMBps as number) * 100) / 100, httpVsRaw: Math.round((out.httpMBps as number) / (out.rawBlockstoreMBps as number) * 100) / 100, webSocketsVsRaw: Math.round((out.webSocketsMBps as number) / (out.rawBlockstoreMBps as number) * 100) / 100 }

  // Inbox: records stored per second by the store on LevelDB, and raw LevelDB puts of the same bytes.
  const N = 5000
  const envelope = { id: 'x'.repeat(22), from: 'z6Mk' + 'a'.repeat(44), to: 'z6Mk' + 'b'.repeat(44), created: new Date().toISOString(), body: 'c'.repeat(800), sig: 'd'.repeat(86) }
  const rec = (i: number): { to: string, from: string, id: string, envelope: typeof envelope, bytes: number, received: string, expires: string } => ({ to: `z6Mk${i % 50}`, from: envelope.from, id: `m${i}`, envelope, bytes: 1100, received: envelope.created, expires: '2999-01-01T00:00:00.000Z' })
  const lv = new LevelDatastore(join(root, 'inbox-raw'))
  await lv.open()
  const enc = new TextEncoder()
  t = performance.now()
  for (let i = 0; i < N; i++) await lv.put(new Key(`/inbox/m/${i + 1}`), enc.encode(JSON.stringify({ ...rec(i), seq: i + 1 })))
  const rawInbox = N / ((performance.now() - t) / 1000)
  await lv.close()
  const lv2 = new LevelDatastore(join(root, 'inbox-store'))
  await lv2.open()
  const inbox = new DatastoreInboxStore(lv2)
  const now = new Date().toISOString()
  t = performance.now()
  for (let i = 0; i < N; i++) await inbox.add(rec(i) as never, { maxCount: 1e9, maxBytes: 1e12 }, now)
  const storeInbox = N / ((performance.now() - t) / 1000)
  await lv2.close()
  out.inbox = { records: N, storeOnLevelDbPerS: Math.round(storeInbox), rawLevelDbPutsPerS: Math.round(rawInbox), ratio: Math.round(storeInbox / rawInbox * 100) / 100 }

  // Durability (issue 24): the same, every write synced as the Node cafe now does (SyncedLevelDatastore),
  // one at a time and 16 at once (LevelDB commits queued writers in one sync), against raw synced puts.
  const S = 1000
  const sv = new SyncedLevelDatastore(join(root, 'inbox-synced-raw'))
  await sv.open()
  t = performance.now()
  for (let i = 0; i < S; i++) await sv.put(new Key(`/inbox/m/${i + 1}`), enc.encode(JSON.stringify({ ...rec(i), seq: i + 1 })))
  const rawSynced = S / ((performance.now() - t) / 1000)
  await sv.close()
  const synced = async (name: string, inFlight: number): Promise<number> => {
    const ds = new SyncedLevelDatastore(join(root, name))
    await ds.open()
    const store = new DatastoreInboxStore(ds)
    let next = 0
    const t0 = performance.now()
    await Promise.all(Array.from({ length: inFlight }, async () => {
      for (let i = next++; i < S; i = next++) await store.add(rec(i) as never, { maxCount: 1e9, maxBytes: 1e12 }, now)
    }))
    const rate = S / ((performance.now() - t0) / 1000)
    await ds.close()
    return rate
  }
  const syncedOne = await synced('inbox-synced-1', 1)
  const synced16 = await synced('inbox-synced-16', 16)
  out.inboxSynced = { records: S, storeOnSyncedLevelDbPerS: Math.round(syncedOne), storeOnSyncedLevelDb16InFlightPerS: Math.round(synced16), rawSyncedLevelDbPutsPerS: Math.round(rawSynced), vsUnsynced: Math.round(syncedOne / storeInbox * 1000) / 1000, vsRawSynced: Math.round(syncedOne / rawSynced * 100) / 100 }

  // Acknowledged deliveries to the running Node cafe over HTTP, on disk: one at a time, then 16
  // in flight; how long an acknowledgement waited (what a grouped sync costs a sender).
  const inboxCafe = await startNodeCafe({ dir: join(root, 'inbox-cafe'), host: '127.0.0.1', ports: { tcp: 0, ws: 0, http: 0, owner: 0 } })
  try {
    const ownerI = { authorization: `Bearer ${(await readFile(inboxCafe.ownerSecretFile, 'utf8')).trim()}` }
    await call(inboxCafe.owner.url, 'PUT', '/api/v0/cafe', { enabled: true }, ownerI)
    const tokenI = (await call(inboxCafe.owner.url, 'POST', '/api/v0/tokens', undefined, ownerI)).body.token
    const recipient = await registerOverHttp(inboxCafe.http.url, inboxCafe.libp2p.peerId.toString(), tokenI)
    const sender = accountFromMnemonic(newMnemonic())
    const to = { address: recipient.account.address, box: toBase64url(boxKeyPair(recipient.account.secretKey).publicKey) }
    // 120 + 120: within one sender's burst of 300.
    const D = 120
    const bodies = await Promise.all(Array.from({ length: 2 * D }, async (_, i) => JSON.stringify(await createEnvelope(sender, to, new TextEncoder().encode(`bench ${i}`)))))
    const deliver = async (body: string): Promise<number> => {
      const t0 = performance.now()
      const r = await fetch(`${inboxCafe.http.url}/cafe/v1/inbox`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      if (r.status !== 202) throw new Error(`delivery answered ${r.status}: ${await r.text()}`)
      await r.body?.cancel()
      return performance.now() - t0
    }
    t = performance.now()
    const oneMs: number[] = []
    for (let i = 0; i < D; i++) oneMs.push(await deliver(bodies[i]))
    const oneRate = D / ((performance.now() - t) / 1000)
    t = performance.now()
    let nextD = D
    const manyMs: number[] = []
    await Promise.all(Array.from({ length: 16 }, async () => { for (let i = nextD++; i < 2 * D; i = nextD++) manyMs.push(await deliver(bodies[i])) }))
    const manyRate = D / ((performance.now() - t) / 1000)
    const p = (xs: number[], q: number): number => Math.round([...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] * 10) / 10
    out.httpDeliveries = { deliveries: D, oneAtATimePerS: Math.round(oneRate), sixteenInFlightPerS: Math.round(manyRate), ackMs: { oneAtATime: { p50: p(oneMs, 0.5), max: p(oneMs, 1) }, sixteenInFlight: { p50: p(manyMs, 0.5), p99: p(manyMs, 0.99), max: p(manyMs, 1) } } }
  } finally {
    await inboxCafe.stop()
  }

  // Start-up with 10,000 pins on disk (one block each): the ledger, GC scan and indexes rebuilt.
  const dir = join(root, 'startup')
  const records = new LevelDatastore(join(dir, 'records'))
  await records.open()
  const blocks = new FsBlockstore(join(dir, 'blocks'))
  await blocks.open()
  const pins = new DatastorePinStore(records)
  const PINS = 10_000
  for (let i = 0; i < PINS; i++) {
    const leaf = new TextEncoder().encode(`pin ${i}`)
    const { sha256 } = await import('multiformats/hashes/sha2')
    const cid = CID.createV1(0x55, await sha256.digest(leaf))
    await blocks.put(cid, leaf)
    await pins.put({ requestid: `r${i}`, address: `z6Mk${i % 20}`, cid: cid.toString(), origins: [], meta: {}, status: 'pinned', created: new Date(Date.now() - PINS + i).toISOString(), blocks: [{ cid: blockKey(cid), bytes: leaf.byteLength }], bytes: leaf.byteLength })
  }
  await records.close()
  await blocks.close()
  t = performance.now()
  const again = await startNodeCafe({ dir, host: '127.0.0.1', ports: { tcp: 0, ws: 0, http: 0, owner: 0 } })
  out.startupWith10kPinsS = Math.round((performance.now() - t) / 10) / 100
  // What it loaded: every pin counted in its client's usage (a start that skipped some would show fewer).
  out.startupPinsLoaded = Array.from({ length: 20 }, (_, i) => again.cafe.pins.usage(`z6Mk${i}`).pins).reduce((a, b) => a + b, 0)
  await again.stop()
} finally {
  await rm(root, { recursive: true, force: true })
}
console.log(JSON.stringify(out, null, 2))
// libp2p and LevelDB leave handles open after stop; the figures are out.
process.exit(0)
