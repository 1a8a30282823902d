import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import * as dagPb from '@ipld/dag-pb'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { describe, expect, it } from 'vitest'
import { exportCar } from '../../ipfs/car.ts'
import { heldBatchBlocks } from '../../../test/fixtures/batch-blocks.ts'
import { PinService } from './pin-service.ts'
import { MemoryPinStore } from './pin-store.ts'
import { parsePinObject, parsePinQuery } from './pin-service.ts'
import type { CarFetcher } from './pin-service.ts'
import type { Blocks } from '../../ipfs/blocks.ts'
import type { HeldBatch } from '../../../test/fixtures/batch-blocks.ts'

interface Block { cid: CID, bytes: Uint8Array }

const ALICE = { address: 'alice', peerId: 'peerA' }
const ANY = new URLSearchParams('status=queued,pinning,pinned,failed')

async function leaf (text: string, size = 1000): Promise<Block> {
  const bytes = new Uint8Array(size).fill(text.charCodeAt(0))
  bytes.set(new TextEncoder().encode(text))
  return { cid: CID.createV1(raw.code, await sha256.digest(bytes)), bytes }
}

async function dag (): Promise<{ root: Block, all: Block[] }> {
  const leaves = await Promise.all(['l1', 'l2', 'l3'].map(async t => leaf(t)))
  const bytes = dagPb.encode(dagPb.prepare({ Links: leaves.map((c, i) => ({ Hash: c.cid, Name: `${i}`, Tsize: c.bytes.length })) }))
  const root = { cid: CID.createV1(dagPb.code, await sha256.digest(bytes)), bytes }
  return { root, all: [root, ...leaves] }
}

async function carChunks (root: Block, all: Block[]): Promise<Uint8Array[]> {
  const byCid = new Map(all.map(b => [b.cid.toString(), b.bytes]))
  const chunks: Uint8Array[] = []
  for await (const c of exportCar(root.cid, async cid => byCid.get(cid.toString()))) chunks.push(c)
  return chunks
}

async function stored (blocks: Blocks): Promise<number> {
  let n = 0
  for await (const _ of blocks.keys()) n++
  return n
}

/** A body that sends `chunks` and then `after` (nothing more: it stays open; or it breaks). */
function body (chunks: Uint8Array[], after: 'end' | 'hang' | Error, onSent?: () => void): AsyncGenerator<Uint8Array> {
  return (async function * () {
    yield * chunks
    onSent?.()
    if (after === 'hang') await new Promise(() => {})
    if (after instanceof Error) throw after
  })()
}

/** Commits every batch asked for until `work` settles (however its blocks fall into batches). */
async function commitAll<T> (nextBatch: () => Promise<HeldBatch>, work: Promise<T>): Promise<void> {
  const over = work.then(() => undefined, () => undefined)
  for (;;) {
    const next = await Promise.race([nextBatch(), over])
    if (next == null) return
    next.commit()
  }
}

/** A promise that resolves when its `done` is called. */
function signal (): { done: () => void, reached: Promise<void> } {
  let done!: () => void
  const reached = new Promise<void>(resolve => { done = resolve })
  return { done, reached }
}

// The cafe's store here writes in batches (putMany) that the test commits or fails, as IndexedDB
// transactions complete or abort: what an ingest reports must follow what was committed.
describe('pin service over batched block writes', () => {
  it('reports a pin only once its last batch is committed', async () => {
    const { root, all } = await dag()
    const { blocks, nextBatch } = heldBatchBlocks()
    const pins = new PinService({ blocks, store: new MemoryPinStore(), quota: async () => 1_000_000 })
    let done = false
    const sent = signal()
    const upload = pins.upload(ALICE, body(await carChunks(root, all), 'end', sent.done)).finally(() => { done = true })
    const first = await nextBatch()
    expect(first.keys).toEqual([root.cid.toString()])
    await sent.reached
    first.commit()
    // The leaves arrived while the root was being written: one batch.
    const second = await nextBatch()
    expect(second.keys).toEqual(all.slice(1).map(b => b.cid.toString()))
    expect(done).toBe(false)
    expect((await pins.list(ALICE.address, parsePinQuery(ANY))).count).toBe(0)
    second.commit()
    expect((await upload).status).toBe('pinned')
    for (const b of all) expect(await blocks.has(b.cid)).toBe(true)
  })

  it('a batch that fails leaves no pin, no blocks (the committed ones are freed) and no reservation', async () => {
    const { root, all } = await dag()
    const size = all.reduce((n, b) => n + b.bytes.length, 0)
    const { blocks, nextBatch } = heldBatchBlocks()
    // The quota fits the DAG once: a reservation left behind would refuse the second upload.
    const pins = new PinService({ blocks, store: new MemoryPinStore(), quota: async () => size })
    const chunks = await carChunks(root, all)
    const sent = signal()
    const upload = pins.upload(ALICE, body(chunks, 'end', sent.done))
    const first = await nextBatch()
    await sent.reached
    first.commit()
    ;(await nextBatch()).fail(new Error('the transaction aborted'))
    await expect(upload).rejects.toThrow('the transaction aborted')
    expect((await pins.list(ALICE.address, parsePinQuery(ANY))).count).toBe(0)
    expect(await stored(blocks)).toBe(0)

    const again = pins.upload(ALICE, body(chunks, 'end'))
    await commitAll(nextBatch, again)
    expect((await again).status).toBe('pinned')
    expect(pins.usage(ALICE.address).bytes).toBe(size)
  })

  it('an upload aborted while a batch is being written waits for it: the batch is kept (durable, recorded), nothing after it', async () => {
    const { root, all } = await dag()
    const { blocks, nextBatch } = heldBatchBlocks()
    const pins = new PinService({ blocks, store: new MemoryPinStore(), quota: async () => 1_000_000 })
    const caller = new AbortController()
    let sentAll!: () => void
    const sent = new Promise<void>(resolve => { sentAll = resolve })
    const upload = pins.upload(ALICE, body(await carChunks(root, all), 'hang', sentAll), { signal: caller.signal })
    const first = await nextBatch()
    await sent
    caller.abort(new Error('the caller went away'))
    // Whatever runs after the abort runs before the batch commits (it cannot commit sooner).
    await new Promise(resolve => setTimeout(resolve, 20))
    first.commit()
    await expect(upload).rejects.toThrow('the caller went away')
    expect((await pins.list(ALICE.address, parsePinQuery(ANY))).count).toBe(0)
    const { unfinished } = await pins.holdings(ALICE.address)
    expect(unfinished).toHaveLength(1)
    expect(await stored(blocks)).toBe(unfinished[0].blocks)
  })

  it('refuses a DAG over the quota before writing what does not fit', async () => {
    const { root, all } = await dag()
    const { blocks, batches, nextBatch } = heldBatchBlocks()
    // The root and one leaf fit; the second leaf does not.
    const pins = new PinService({ blocks, store: new MemoryPinStore(), quota: async () => root.bytes.length + 1500 })
    const upload = pins.upload(ALICE, body(await carChunks(root, all), 'end'))
    await commitAll(nextBatch, upload)
    await expect(upload).rejects.toMatchObject({ reason: 'QUOTA_EXCEEDED' })
    // Neither the leaf past the quota nor any after it was ever given to the store.
    const written = batches.flatMap(b => b.keys)
    expect(written).not.toContain(all[2].cid.toString())
    expect(written).not.toContain(all[3].cid.toString())
    expect(await stored(blocks)).toBe(0)
  })

  it('a pull source that breaks with blocks still queued: those are fetched again from the next source', async () => {
    const { root, all } = await dag()
    const { blocks, nextBatch } = heldBatchBlocks()
    const chunks = await carChunks(root, all)
    let asked = 0
    let broke!: () => void
    const broken = new Promise<void>(resolve => { broke = resolve })
    const fetchCar: CarFetcher = async () => {
      asked++
      // The first source sends the whole DAG, then its stream breaks.
      return asked === 1 ? body(chunks, new Error('the stream reset'), broke) : body(chunks, 'end')
    }
    const pins = new PinService({ blocks, store: new MemoryPinStore(), quota: async () => 1_000_000, fetchCar })
    const origin = `/dns4/origin.example/tcp/1/p2p/${peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()}`
    const pin = await pins.create(ALICE, parsePinObject({ cid: root.cid.toString(), origins: [origin] }))
    // The first source's batch (its root) commits only after its stream broke, its leaves queued
    // behind it (the break reaches the ingest without waiting on any timer).
    const first = await nextBatch()
    await broken
    await new Promise(resolve => setTimeout(resolve, 0))
    first.commit()
    await commitAll(nextBatch, Promise.resolve(expect.poll(async () => (await pins.get(ALICE.address, pin.requestid)).status).toBe('pinned')))
    expect(asked).toBe(2)
    for (const b of all) expect(await blocks.has(b.cid)).toBe(true)
  })
})
