import '../relay/polyfill.ts'
import '../server/websocket-polyfill.ts'
import 'fake-indexeddb/auto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as dagPb from '@ipld/dag-pb'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { FsBlockstore } from 'blockstore-fs'
import { createLibp2p } from 'libp2p'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { accountFromMnemonic, newMnemonic } from '../src/account/index.ts'
import { BackupOutbox } from '../src/client/backups.ts'
import { CafeClient } from '../src/client/cafe-client.ts'
import { BackupChecks } from '../src/client/checks.ts'
import { libp2pTransport } from '../src/client/libp2p-transport.ts'
import { MemorySessionStore } from '../src/client/session-store.ts'
import { blocksOf } from '../src/ipfs/blocks.ts'
import { httpOverLibp2p } from '../src/node/http/index.ts'
import { startNodeCafe } from '../server/node-cafe.ts'
import { call } from '../server/test-helpers.ts'
import type { CafeTransport } from '../src/client/cafe-client.ts'
import type { HttpOverLibp2p } from '../src/node/http/index.ts'
import type { Libp2p } from '@libp2p/interface'

/**
 * What a check of a cafe costs per GiB it pins for an account (docs/notes/backups.md, issue 26): a
 * Node cafe on disk holding BENCH_PROOF_MIB (default 1024) MiB of 1 MiB leaves for one client,
 * reached over libp2p WebSockets; the client's checks (have/want over every block, a proof of
 * 8 random blocks) timed and their bytes counted both ways, next to the raw limit of the same
 * question asked of blockstore-fs directly. Then a few blocks deleted behind the cafe's back:
 * the time one check takes to name them. Prints one JSON object; never fails by time.
 */
const MiB = 1024 * 1024
const SIZE = Number(process.env.BENCH_PROOF_MIB ?? 1024)
const root = await mkdtemp(join(tmpdir(), 'lightcafe-bench-proofs-'))
const out: Record<string, unknown> = { pinnedMiB: SIZE }
const round = (n: number, d = 1): number => Math.round(n * 10 ** d) / 10 ** d

try {
  const node = await startNodeCafe({ dir: join(root, 'cafe'), host: '127.0.0.1', ports: { tcp: 0, ws: 0, http: 0, owner: 0 } })
  const owner = { authorization: `Bearer ${(await readFile(node.ownerSecretFile, 'utf8')).trim()}` }
  await call(node.owner.url, 'PUT', '/api/v0/cafe', { enabled: true, quotaBytes: (SIZE + 64) * MiB }, owner)
  const token = (await call(node.owner.url, 'POST', '/api/v0/tokens', undefined, owner)).body.token as string
  const cafeId = node.libp2p.peerId.toString()

  // The client: its own blocks on disk (1 MiB raw leaves under one dag-pb root), its outbox and checks.
  const libp2p = await createLibp2p({ transports: [webSockets()], connectionEncrypters: [noise()], streamMuxers: [yamux()], connectionGater: { denyDialMultiaddr: async () => false }, services: { identify: identify(), http: httpOverLibp2p() } }) as unknown as Libp2p<{ http: HttpOverLibp2p }>
  const store = new FsBlockstore(join(root, 'client-blocks'))
  await store.open()
  const blocks = blocksOf(store)
  const links = []
  const leaf = new Uint8Array(MiB)
  for (let i = 0; i < SIZE; i++) {
    new DataView(leaf.buffer).setUint32(0, i)
    const cid = CID.createV1(raw.code, await sha256.digest(leaf))
    await blocks.put(cid, leaf)
    links.push({ Hash: cid, Name: `${i}`, Tsize: MiB })
  }
  const rootBytes = dagPb.encode(dagPb.prepare({ Links: links }))
  const dagRoot = CID.createV1(dagPb.code, await sha256.digest(rootBytes))
  await blocks.put(dagRoot, rootBytes)

  // Bytes each way per route, as the client's transport carries them.
  const counted = { up: 0, down: 0 }
  const inner = libp2pTransport(libp2p.services.http, () => [])
  const transport: CafeTransport = async (cafe, request, options) => {
    const path = new URL(request.url).pathname
    const check = path === '/cafe/v1/blocks/missing' || path === '/cafe/v1/proofs' || path === '/cafe/v1/storage'
    if (check && request.body != null) counted.up += (await request.clone().arrayBuffer()).byteLength
    const res = await inner(cafe, request, options)
    if (!check || res.body == null) return res
    const body = new Uint8Array(await res.arrayBuffer())
    counted.down += body.byteLength
    return new Response(body, { status: res.status, headers: res.headers })
  }
  const account = accountFromMnemonic(newMnemonic())
  const client = new CafeClient({ account: () => account, store: new MemorySessionStore(), transport })
  await client.register(node.multiaddrs.find(ma => ma.includes('/ws/'))!, token)
  const outbox = new BackupOutbox({ client, blocks, dbName: 'bench-proofs', metaOf: async () => ({}), snapshotOf: async () => { throw new Error('no threads') } })
  await outbox.start()
  let t = performance.now()
  await outbox.backup(dagRoot.toString())
  for (;;) {
    const s = (await outbox.status(dagRoot.toString())).cafes[0]
    if (s.status === 'pinned') break
    if (s.status === 'failed') throw new Error(`the backup failed: ${JSON.stringify(s.error)}`)
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  out.uploadMBps = round(SIZE / ((performance.now() - t) / 1000))
  const checks = new BackupChecks({ client, outbox, dbName: 'bench-proofs-checks' })

  // Three checks, each have/want over every block and a proof of 8 random blocks.
  const runs: Array<{ ms: number, up: number, down: number, proofBytes: number, audited: number }> = []
  for (let i = 0; i < 3; i++) {
    counted.up = 0
    counted.down = 0
    const r = await checks.check(cafeId, { proof: true })
    if (!r.ok || !r.proof) throw new Error(`the check did not pass: ${JSON.stringify(r)}`)
    runs.push({ ms: r.ms, up: counted.up, down: counted.down, proofBytes: r.bytes, audited: r.audited })
  }
  const med = <K extends keyof typeof runs[number]>(k: K): number => [...runs.map(x => x[k])].sort((a, b) => a - b)[1]
  // At the default 1024 MiB these are the figures per GiB pinned: have/want grows with the blocks, the proof (≤ 8 blocks, ≤ 4 MiB) does not.
  out.check = { runs, medianMs: med('ms'), medianBytesUp: med('up'), medianBytesDown: med('down') }

  // Raw limit: the cafe's share of the have/want, asked of blockstore-fs directly (one `has` per block).
  const cafeStore = new FsBlockstore(join(root, 'cafe', 'blocks'))
  await cafeStore.open()
  t = performance.now()
  for (const l of links) await cafeStore.has(l.Hash)
  out.raw = { hasAllBlocksMs: round(performance.now() - t), cidListBytes: links.reduce((n, l) => n + l.Hash.toString().length + 3, 0) }
  out.ratios = { checkMsVsRawHas: round(med('ms') / (out.raw as { hasAllBlocksMs: number }).hasAllBlocksMs, 2), bytesUpVsCidList: round(med('up') / (out.raw as { cidListBytes: number }).cidListBytes, 2) }

  // Loss behind the cafe's back: 3 leaves deleted from its disk; one check names them.
  for (const l of links.slice(10, 13)) await cafeStore.delete(l.Hash)
  const lost = await checks.check(cafeId, { proof: false })
  out.lossFound = { ms: lost.ms, missing: lost.missing, reason: lost.reason }
  outbox.stop()
  await libp2p.stop()
  await node.stop()
} finally {
  await rm(root, { recursive: true, force: true })
}
console.log(JSON.stringify(out, null, 2))
// libp2p and LevelDB leave handles open after stop; the figures are out.
process.exit(0)
