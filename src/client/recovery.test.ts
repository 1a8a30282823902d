import 'fake-indexeddb/auto'
import * as dagPb from '@ipld/dag-pb'
import { MemoryBlockstore } from 'blockstore-core/memory'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { describe, expect, it } from 'vitest'
import { accountFromMnemonic, newMnemonic } from '../account/index.ts'
import { memoryBackupCafe } from '../../test/fixtures/backup-cafe.ts'
import { blocksOf } from '../ipfs/blocks.ts'
import { exportCar } from '../ipfs/car.ts'
import { CafeClient } from './cafe-client.ts'
import { recover } from './recovery.ts'
import { MemorySessionStore } from './session-store.ts'
import { Threads } from './threads.ts'
import { rawBlock, writtenCar } from '../../test/fixtures/car.ts'
import { stub } from '../../test/fixtures/stub.ts'
import { parsePinQuery } from '../cafe/pins/pin-service.ts'
import type { CafeTransport } from './cafe-client.ts'
import type { Files } from './files.ts'
import type { RecoveryProgressEvent } from './recovery.ts'

let dbs = 0

const block = rawBlock

async function carOf (root: CID, blocks: Array<{ cid: CID, bytes: Uint8Array }>): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array((await writtenCar([root], blocks)).flatMap(c => [...c])) as Uint8Array<ArrayBuffer>
}

describe('recovery', () => {
  it('keeps only the blocks of the DAGs it asked for, whatever else the cafe sends', async () => {
    const { cafeId, host, pins, app } = await memoryBackupCafe()

    const leaf = await block('the backed-up file')
    const rootBytes = dagPb.encode(dagPb.prepare({ Links: [{ Hash: leaf.cid, Name: 'f', Tsize: leaf.bytes.length }] }))
    const root = { cid: CID.createV1(dagPb.code, await sha256.digest(rootBytes)), bytes: rootBytes }
    const junk = await block('a block of no DAG this account asked for')

    // A hostile (or buggy) cafe: its CAR of the DAG carries one more, valid, unrelated block.
    const transport: CafeTransport = async (_cafe, request) => {
      if (new URL(request.url).pathname === `/cafe/v1/ipfs/${root.cid.toString()}`) {
        return new Response(await carOf(root.cid, [root, junk, leaf]), { headers: { 'content-type': 'application/vnd.ipld.car' } })
      }
      return app.fetch(request, { remotePeer: 'new-device' })
    }
    const account = accountFromMnemonic(newMnemonic())
    const client = new CafeClient({ account: () => account, store: new MemorySessionStore(), transport })
    await client.register(cafeId, (await host.createToken()).token)
    await pins.upload({ address: account.address, peerId: 'old-device' }, exportCar(root.cid, async c => [root, leaf].find(b => b.cid.equals(c))?.bytes))

    const blocks = blocksOf(new MemoryBlockstore())
    const threads = new Threads(() => account, `recovery-test-${++dbs}`)
    const events: RecoveryProgressEvent[] = []
    const done = await recover({ client, threads, files: stub<Files>(), blocks }, cafeId, { onProgress: e => { events.push(e) } })
    expect(done.state).toBe('done')
    expect(await blocks.get(root.cid)).toEqual(root.bytes)
    expect(await blocks.get(leaf.cid)).toEqual(leaf.bytes)
    expect(await blocks.has(junk.cid)).toBe(false)
    expect(done.blocks).toBe(2)
    // Typed events, each a copy of where it stood: running from the start, done last, blocks counted up.
    expect(events.every(e => e.type === 'recovery:progress')).toBe(true)
    expect(events[0].detail).toMatchObject({ cafe: cafeId, state: 'running', blocks: 0 })
    expect(events.at(-1)!.detail).toEqual(done)
    expect(events.map(e => e.detail.blocks)).toEqual([...events.map(e => e.detail.blocks)].sort((a, b) => a - b))
    expect(new Set(events.map(e => e.detail)).size).toBe(events.length)
    client.stop()
  })
})

describe('recovery: completeness from the blocks that arrived', () => {
  /** A cafe holding `root`'s DAG for a new account, whose CAR of it is `sent` (the honest one when omitted). */
  async function setUp (dag: Array<{ cid: CID, bytes: Uint8Array }>, sent?: Array<{ cid: CID, bytes: Uint8Array }>): Promise<{ client: CafeClient, cafeId: string, account: ReturnType<typeof accountFromMnemonic> }> {
    const { cafeId, host, pins, app } = await memoryBackupCafe()
    const root = dag[0]
    const transport: CafeTransport = async (_cafe, request) => {
      if (sent != null && new URL(request.url).pathname === `/cafe/v1/ipfs/${root.cid.toString()}`) {
        return new Response(await carOf(root.cid, sent), { headers: { 'content-type': 'application/vnd.ipld.car' } })
      }
      return app.fetch(request, { remotePeer: 'new-device' })
    }
    const account = accountFromMnemonic(newMnemonic())
    const client = new CafeClient({ account: () => account, store: new MemorySessionStore(), transport })
    await client.register(cafeId, (await host.createToken()).token)
    await pins.upload({ address: account.address, peerId: 'old-device' }, exportCar(root.cid, async c => dag.find(b => b.cid.equals(c))?.bytes))
    return { client, cafeId, account }
  }

  async function pbNode (links: Array<{ cid: CID }>): Promise<{ cid: CID, bytes: Uint8Array }> {
    const bytes = dagPb.encode(dagPb.prepare({ Links: links.map((l, i) => ({ Hash: l.cid, Name: `${i}` })) }))
    return { cid: CID.createV1(dagPb.code, await sha256.digest(bytes)), bytes }
  }

  it('a DAG whose blocks all came is complete without reading one back; a block two parents share counts once', async () => {
    const shared = await block('shared by both halves')
    const left = await pbNode([shared, await block('left')])
    const right = await pbNode([shared])
    const root = await pbNode([left, right])
    const dag = [root, left, shared, (await block('left')), right]
    const { client, cafeId, account } = await setUp(dag)
    const store = blocksOf(new MemoryBlockstore())
    let reads = 0
    const blocks = { ...store, get: async (c: CID) => { reads++; return store.get(c) } }
    const threads = new Threads(() => account, `recovery-test-${++dbs}`)
    const done = await recover({ client, threads, files: stub<Files>(), blocks }, cafeId)
    expect(done).toMatchObject({ state: 'done', dagsDone: 1, blocks: 5 })
    for (const b of dag) expect(await store.get(b.cid)).toEqual(b.bytes)
    // The one read: whether the root was here before asking the cafe.
    expect(reads).toBe(1)
    client.stop()
  })

  it('a CAR without a block fails RECOVERY_INCOMPLETE, unless that block is on this device already', async () => {
    const a = await block('a leaf the cafe leaves out')
    const b = await block('a leaf it sends')
    const root = await pbNode([a, b])
    const { client, cafeId, account } = await setUp([root, a, b], [root, b])
    const threads = new Threads(() => account, `recovery-test-${++dbs}`)
    const empty = blocksOf(new MemoryBlockstore())
    await expect(recover({ client, threads, files: stub<Files>(), blocks: empty }, cafeId)).rejects.toMatchObject({ reason: 'RECOVERY_INCOMPLETE' })

    const holding = blocksOf(new MemoryBlockstore())
    await holding.put(a.cid, a.bytes)
    const done = await recover({ client, threads, files: stub<Files>(), blocks: holding }, cafeId)
    expect(done.state).toBe('done')
    expect(await holding.get(root.cid)).toEqual(root.bytes)
    expect(await holding.get(b.cid)).toEqual(b.bytes)
    client.stop()
  })
})

describe('recovery from a cafe that lost blocks', () => {
  it('gets the cafe\'s CAR without them (no cut stream), names them, and takes them from the account\'s other cafes', async () => {
    const [a, b] = [await memoryBackupCafe(), await memoryBackupCafe()]
    const leaves = [await block('leaf one'), await block('leaf two'), await block('leaf three')]
    const rootBytes = dagPb.encode(dagPb.prepare({ Links: leaves.map((l, i) => ({ Hash: l.cid, Name: `${i}` })) }))
    const root = { cid: CID.createV1(dagPb.code, await sha256.digest(rootBytes)), bytes: rootBytes }
    const dag = [root, ...leaves]
    const account = accountFromMnemonic(newMnemonic())
    const transport: CafeTransport = async (target, request) => (target.id === a.cafeId ? a : b).app.fetch(request, { remotePeer: 'new-device' })
    const both = new CafeClient({ account: () => account, store: new MemorySessionStore(), transport })
    await both.register(a.cafeId, (await a.host.createToken()).token)
    await both.register(b.cafeId, (await b.host.createToken()).token)
    for (const cafe of [a, b]) await cafe.pins.upload({ address: account.address, peerId: 'old-device' }, exportCar(root.cid, async c => dag.find(x => x.cid.equals(c))?.bytes), { name: 'old' })
    // A's store loses one leaf behind its back.
    await a.blocks.delete(leaves[1].cid)

    // Registered with A alone: the recovery names what A lacks instead of failing on a cut stream.
    const alone = new CafeClient({ account: () => account, store: new MemorySessionStore(), transport })
    await alone.register(a.cafeId, (await a.host.createToken()).token)
    const threads = new Threads(() => account, `recovery-test-${++dbs}`)
    await expect(recover({ client: alone, threads, files: stub<Files>(), blocks: blocksOf(new MemoryBlockstore()) }, a.cafeId)).rejects.toMatchObject({ reason: 'RECOVERY_INCOMPLETE', message: expect.stringContaining(leaves[1].cid.toString()) })
    // The cafe knows it now: the pin is shown failed, BLOCKS_LOST, to its client.
    expect((await a.pins.list(account.address, parsePinQuery(new URLSearchParams({ status: 'failed' })))).results[0].info).toMatchObject({ reason: 'BLOCKS_LOST', lost: '1' })

    // Registered with both: the missing leaf comes from B.
    const blocks = blocksOf(new MemoryBlockstore())
    const done = await recover({ client: both, threads, files: stub<Files>(), blocks }, a.cafeId)
    expect(done).toMatchObject({ state: 'done', dagsDone: 1, missing: 1, elsewhere: [{ cafe: b.cafeId, blocks: 1 }] })
    for (const x of dag) expect(await blocks.get(x.cid)).toEqual(x.bytes)
    alone.stop()
    both.stop()
  })
})

describe('thread snapshots', () => {
  it('a new device tells an older snapshot from the newest, whatever the clock said when each was written', async () => {
    const account = accountFromMnemonic(newMnemonic())
    const clock = { ms: Date.parse('2026-05-01T12:00:00Z') }
    const writer = new Threads(() => account, `threads-writer-${++dbs}`, () => clock.ms)
    const h1 = (await block('head one')).cid.toString()
    const h2 = (await block('head two')).cid.toString()
    const older = await writer.seal(await writer.put('t1', { head: h1 }))
    clock.ms -= 60 * 60_000 // the device's clock is set back an hour before the next update
    const newest = await writer.seal(await writer.put('t1', { head: h2 }))

    // Either order of arrival (one cafe missed the last update), the newest wins.
    for (const order of [[newest, older], [older, newest]]) {
      const reader = new Threads(() => account, `threads-reader-${++dbs}`)
      for (const s of order) await reader.restore(s)
      expect((await reader.get('t1')).head).toBe(h2)
    }
  })
})
