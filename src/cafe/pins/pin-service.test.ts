import { CarWriter } from '@ipld/car'
import * as dagPb from '@ipld/dag-pb'
import { MemoryBlockstore } from 'blockstore-core/memory'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { describe, expect, it } from 'vitest'
import { blocksOf } from '../../ipfs/blocks.ts'
import { exportCar } from '../../ipfs/car.ts'
import { PinService } from './pin-service.ts'
import { MemoryPinStore } from './pin-store.ts'
import type { CarFetcher } from './pin-service.ts'
import type { Blocks } from '../../ipfs/blocks.ts'

interface Block { cid: CID, bytes: Uint8Array }

async function leaf (text: string, size = 1000): Promise<Block> {
  const bytes = new Uint8Array(size).fill(text.charCodeAt(0))
  bytes.set(new TextEncoder().encode(text))
  return { cid: CID.createV1(raw.code, await sha256.digest(bytes)), bytes }
}

async function node (children: Block[]): Promise<Block> {
  const bytes = dagPb.encode(dagPb.prepare({ Links: children.map((c, i) => ({ Hash: c.cid, Name: `${i}`, Tsize: c.bytes.length })) }))
  return { cid: CID.createV1(dagPb.code, await sha256.digest(bytes)), bytes }
}

function source (blocks: Block[]): Blocks {
  const bs = blocksOf(new MemoryBlockstore())
  const map = new Map(blocks.map(b => [b.cid.toString(), b.bytes]))
  return { ...bs, get: async cid => map.get(cid.toString()) }
}

async function * car (root: CID, blocks: Block[]): AsyncGenerator<Uint8Array> {
  yield * exportCar(root, source(blocks).get)
}

/** A CAR written as given (any blocks, any roots): what a careless or hostile client sends. */
async function * written (root: CID, blocks: Block[], moreRoots: CID[] = []): AsyncGenerator<Uint8Array> {
  const { writer, out } = CarWriter.create([root, ...moreRoots])
  const chunks: Uint8Array[] = []
  const collected = (async () => { for await (const c of out) chunks.push(c) })()
  for (const b of blocks) await writer.put(b)
  await writer.close()
  await collected
  yield * chunks
}

async function stored (blocks: Blocks): Promise<number> {
  let n = 0
  for await (const _ of blocks.keys()) n++
  return n
}

const ALICE = { address: 'alice', peerId: 'peerA' }
const BOB = { address: 'bob', peerId: 'peerB' }

function service (init: { blocks?: Blocks, store?: MemoryPinStore, quota?: number, fetchCar?: CarFetcher } = {}): { pins: PinService, blocks: Blocks, store: MemoryPinStore } {
  const blocks = init.blocks ?? blocksOf(new MemoryBlockstore())
  const store = init.store ?? new MemoryPinStore()
  const pins = new PinService({ blocks, store, quota: async () => init.quota ?? 1_000_000, fetchCar: init.fetchCar, delegates: () => ['/p2p/cafe'] })
  return { pins, blocks, store }
}

describe('pin service', () => {
  it('pins an uploaded CAR, counts shared blocks for each client, stores them once, and frees only unheld blocks', async () => {
    const shared = await leaf('shared')
    const a1 = await leaf('a1')
    const b1 = await leaf('b1')
    const rootA = await node([shared, a1])
    const rootB = await node([shared, b1])
    const { pins, blocks } = service()

    const pa = await pins.upload(ALICE, car(rootA.cid, [rootA, shared, a1]), { name: 'a' })
    expect(pa.status).toBe('pinned')
    expect(pa.pin).toMatchObject({ cid: rootA.cid.toString(), name: 'a' })
    const pb = await pins.upload(BOB, car(rootB.cid, [rootB, shared, b1]))
    expect(await stored(blocks)).toBe(5)
    expect(pins.usage('alice')).toEqual({ bytes: rootA.bytes.length + 2000, pins: 1 })
    expect(pins.usage('bob').bytes).toBe(rootB.bytes.length + 2000)

    // Alice cannot see, read or delete Bob's pin.
    await expect(pins.get('alice', pb.requestid)).rejects.toMatchObject({ reason: 'PIN_NOT_FOUND', status: 404 })
    await expect(pins.remove('alice', pb.requestid)).rejects.toMatchObject({ reason: 'PIN_NOT_FOUND' })
    expect(await pins.read('alice', b1.cid)).toBeUndefined()
    expect(await pins.read('bob', b1.cid)).toEqual(b1.bytes)
    expect((await pins.list('alice', new URLSearchParams())).results.map(p => p.requestid)).toEqual([pa.requestid])

    await pins.remove('alice', pa.requestid)
    expect(await stored(blocks)).toBe(3) // rootA and a1 freed; the shared leaf is Bob's too
    expect(await blocks.has(shared.cid)).toBe(true)
    expect(pins.usage('alice')).toEqual({ bytes: 0, pins: 0 })
    await pins.remove('bob', pb.requestid)
    expect(await stored(blocks)).toBe(0)
  })

  it('refuses an over-quota, forged, incomplete or multi-root CAR and keeps nothing of it', async () => {
    const l1 = await leaf('l1', 600)
    const l2 = await leaf('l2', 600)
    const root = await node([l1, l2])
    const { pins, blocks, store } = service({ quota: 1000 })
    await expect(pins.upload(ALICE, car(root.cid, [root, l1, l2]))).rejects.toMatchObject({ reason: 'QUOTA_EXCEEDED', status: 413 })
    const big = service({ quota: 10_000 })
    await expect(big.pins.upload(ALICE, written(root.cid, [root, l1, { cid: l2.cid, bytes: l1.bytes }]))).rejects.toMatchObject({ reason: 'BLOCK_MISMATCH' })
    await expect(big.pins.upload(ALICE, written(root.cid, [root, l1]))).rejects.toMatchObject({ reason: 'DAG_INCOMPLETE' })
    await expect(big.pins.upload(ALICE, written(root.cid, [root, l1, l2], [l1.cid]))).rejects.toMatchObject({ reason: 'CAR_ROOTS' })
    async function * notCar (): AsyncGenerator<Uint8Array> { yield new TextEncoder().encode('hello') }
    await expect(big.pins.upload(ALICE, notCar())).rejects.toMatchObject({ reason: 'INVALID_CAR' })
    expect(await stored(blocks)).toBe(0)
    expect(await stored(big.blocks)).toBe(0)
    expect(await store.all()).toEqual([])
    expect(pins.usage('alice').bytes).toBe(0)
  })

  it('fulfils a Pinning Service API request by pulling from the caller, then the origins; fails cleanly when none has it', async () => {
    const l1 = await leaf('p1')
    const root = await node([l1])
    const asked: string[] = []
    const fetchCar: CarFetcher = async (src, cid) => {
      asked.push(src.peer ?? src.addrs[0])
      if (src.addrs[0] === '/dns4/origin.example/tcp/1') return car(cid, [root, l1])
      throw new Error('no route')
    }
    const { pins, blocks } = service({ fetchCar })
    const queued = await pins.create(ALICE, { cid: root.cid.toString(), origins: ['/dns4/origin.example/tcp/1'], meta: { app: 'test' } })
    expect(queued.status).toBe('queued')
    await expect.poll(async () => (await pins.get('alice', queued.requestid)).status).toBe('pinned')
    expect(asked).toEqual(['peerA', '/dns4/origin.example/tcp/1'])
    expect(await stored(blocks)).toBe(2)

    const lost = await leaf('nowhere')
    const failing = await pins.create(ALICE, { cid: lost.cid.toString() })
    await expect.poll(async () => (await pins.get('alice', failing.requestid)).status).toBe('failed')
    expect((await pins.get('alice', failing.requestid)).info.reason).toBe('MISSING_BLOCKS')

    // Filters: status, cid, name, meta.
    expect((await pins.list('alice', new URLSearchParams({ status: 'failed' }))).count).toBe(1)
    expect((await pins.list('alice', new URLSearchParams({ cid: root.cid.toString() }))).count).toBe(1)
    expect((await pins.list('alice', new URLSearchParams({ meta: '{"app":"test"}' }))).count).toBe(1)
    expect((await pins.list('alice', new URLSearchParams({ meta: '{"app":"other"}' }))).count).toBe(0)
    await expect(pins.list('alice', new URLSearchParams({ status: 'lost' }))).rejects.toMatchObject({ reason: 'INVALID_STATUS' })
    await expect(pins.list('alice', new URLSearchParams({ limit: '0' }))).rejects.toMatchObject({ status: 400 })
    await expect(pins.create(ALICE, { cid: 'not-a-cid' })).rejects.toMatchObject({ reason: 'INVALID_CID' })
    await expect(pins.create(ALICE, { cid: root.cid.toString(), origins: ['nope'] })).rejects.toMatchObject({ reason: 'INVALID_ORIGIN' })
  })

  it('keeps pins across a restart and collects blocks no pin holds (an upload killed mid-way)', async () => {
    const l1 = await leaf('r1')
    const root = await node([l1])
    const first = service()
    const p = await first.pins.upload(ALICE, car(root.cid, [root, l1]))
    const orphan = await leaf('orphan')
    await first.blocks.put(orphan.cid, orphan.bytes)
    const again = service({ blocks: first.blocks, store: first.store })
    await again.pins.ready
    expect((await again.pins.get('alice', p.requestid)).status).toBe('pinned')
    expect(await first.blocks.has(orphan.cid)).toBe(false)
    expect(await stored(first.blocks)).toBe(2)
    expect(again.pins.usage('alice').pins).toBe(1)
  })

  it('replaces a pin: the old one goes once the new one is pinned', async () => {
    const l1 = await leaf('x1')
    const l2 = await leaf('x2')
    const { pins } = service({ fetchCar: async (_s, cid) => car(cid, [l1, l2]) })
    const one = await pins.create(ALICE, { cid: l1.cid.toString() })
    await expect.poll(async () => (await pins.get('alice', one.requestid)).status).toBe('pinned')
    const two = await pins.replace(ALICE, one.requestid, { cid: l2.cid.toString() })
    await expect.poll(async () => (await pins.get('alice', two.requestid)).status).toBe('pinned')
    await expect(pins.get('alice', one.requestid)).rejects.toMatchObject({ reason: 'PIN_NOT_FOUND' })
    expect(pins.usage('alice')).toEqual({ bytes: 1000, pins: 1 })
  })
})
