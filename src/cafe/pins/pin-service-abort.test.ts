import { MemoryBlockstore } from 'blockstore-core/memory'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { describe, expect, it } from 'vitest'
import { blocksOf } from '../../ipfs/blocks.ts'
import { exportCar } from '../../ipfs/car.ts'
import { PinService } from './pin-service.ts'
import { MemoryPinStore } from './pin-store.ts'
import { parsePinObject, parsePinQuery } from './pin-service.ts'

const ALICE = { address: 'alice', peerId: 'peerA' }

/** The caller's `signal` (AbortOptions) on the pin service's calls. */
describe('pin service: AbortOptions', () => {
  it('aborts an upload when its caller gives up mid-CAR: no pin, what arrived kept to be resumed', async () => {
    const bytes = new TextEncoder().encode('a block that arrives before the caller gives up')
    const cid = CID.createV1(raw.code, await sha256.digest(bytes))
    const chunks: Uint8Array[] = []
    for await (const c of exportCar(cid, async () => bytes)) chunks.push(c)
    const blocks = blocksOf(new MemoryBlockstore())
    const pins = new PinService({ blocks, store: new MemoryPinStore(), quota: async () => 1_000_000 })
    const caller = new AbortController()
    let sentAll!: () => void
    const sent = new Promise<void>(resolve => { sentAll = resolve })
    // The whole CAR but no end: the upload waits for more until its caller gives up.
    async function * car (): AsyncGenerator<Uint8Array> {
      yield * chunks
      sentAll()
      await new Promise(() => {})
    }
    const upload = pins.upload(ALICE, car(), { signal: caller.signal })
    await sent
    caller.abort(new Error('the caller went away'))
    await expect(upload).rejects.toThrow('the caller went away')
    expect((await pins.list(ALICE.address, parsePinQuery(new URLSearchParams('status=pinned,pinning,queued,failed')))).count).toBe(0)
    // The one block came and was stored: the next upload of the root need not send it.
    expect((await pins.holdings(ALICE.address)).unfinished).toMatchObject([{ cid: cid.toString(), blocks: 1 }])
    expect(await pins.missing(ALICE.address, [cid])).toEqual([])
    await pins.dropUnfinished(ALICE.address, cid.toString())
    let stored = 0
    for await (const _ of blocks.keys()) stored++
    expect(stored).toBe(0)
  })

  it('refuses a call whose signal has already fired, changing nothing', async () => {
    const pins = new PinService({ blocks: blocksOf(new MemoryBlockstore()), store: new MemoryPinStore(), quota: async () => 1_000_000 })
    const gone = AbortSignal.abort(new Error('gone'))
    const cid = 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'
    await expect(pins.create(ALICE, parsePinObject({ cid }), { signal: gone })).rejects.toThrow('gone')
    await expect(pins.list(ALICE.address, parsePinQuery(new URLSearchParams()), { signal: gone })).rejects.toThrow('gone')
    expect((await pins.list(ALICE.address, parsePinQuery(new URLSearchParams('status=queued,pinning,pinned,failed')))).count).toBe(0)
  })
})
