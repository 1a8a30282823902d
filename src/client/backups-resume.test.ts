import 'fake-indexeddb/auto'
import { MemoryBlockstore } from 'blockstore-core/memory'
import { describe, expect, it } from 'vitest'
import { accountFromMnemonic, newMnemonic } from '../account/index.ts'
import { memoryBackupCafe } from '../../test/fixtures/backup-cafe.ts'
import { blocksOf } from '../ipfs/blocks.ts'
import { storedDag } from '../../test/fixtures/car.ts'
import { BackupOutbox } from './backups.ts'
import { CafeClient } from './cafe-client.ts'
import { MemorySessionStore } from './session-store.ts'
import type { CafeTransport } from './cafe-client.ts'

const KiB = 1024

/**
 * A connection that drops after `limit` bytes of the request body: the cafe's body breaks
 * there and the caller's request fails, with no answer, as over a libp2p stream that resets.
 */
async function dropAfter (request: Request, limit: number, serve: (r: Request) => Promise<Response>): Promise<Response> {
  const reader = request.body!.getReader()
  let n = 0
  let dropped!: (err: Error) => void
  const gone = new Promise<never>((_resolve, reject) => { dropped = reject })
  const body = new ReadableStream<Uint8Array>({
    async pull (c) {
      const { done, value } = await reader.read()
      if (done) { c.close(); return }
      n += value.byteLength
      if (n > limit) {
        const err = new Error('the connection dropped')
        await reader.cancel(err)
        c.error(err)
        dropped(err)
        return
      }
      c.enqueue(value)
    }
  })
  const answered = serve(new Request(request, { body, duplex: 'half' } as RequestInit))
  answered.catch(() => {})
  return Promise.race([answered.then(async r => { await gone; return r }), gone])
}

describe('backup outbox: an upload cut part-way resumes', () => {
  it('sends only what the cafe lacks: the second attempt asks have/want and the bytes re-sent stay under 15 %', async () => {
    const { cafeId, host, pins, app } = await memoryBackupCafe()
    const account = accountFromMnemonic(newMnemonic())
    const { token } = await host.createToken()
    const blocks = blocksOf(new MemoryBlockstore())
    const { root, rootBytes } = await storedDag(blocks, 40, 64 * KiB)
    const size = 40 * 64 * KiB + rootBytes.length

    let uploads = 0
    const asked: number[] = []
    const transport: CafeTransport = async (_cafe, request) => {
      const path = new URL(request.url).pathname
      if (path === '/cafe/v1/blocks/missing') asked.push(((await request.clone().json()) as { cids: string[] }).cids.length)
      // The first upload breaks at 90 % of the DAG.
      if (path === '/cafe/v1/uploads' && uploads++ === 0) return dropAfter(request, 0.9 * size, async r => app.fetch(r, { remotePeer: 'peer-one' }))
      return app.fetch(request, { remotePeer: 'peer-one' })
    }
    const client = new CafeClient({ account: () => account, store: new MemorySessionStore(), transport })
    await client.register(cafeId, token)
    const outbox = new BackupOutbox({ client, blocks, dbName: 'backups-resume-test', metaOf: async () => ({}), snapshotOf: async () => { throw new Error('no threads here') } })
    await outbox.start()
    try {
      await outbox.backup(root.toString())
      await expect.poll(async () => (await outbox.status(root.toString())).cafes[0].status, { timeout: 10_000 }).toBe('pinned')
      const done = (await outbox.status(root.toString())).cafes[0]
      expect(uploads).toBe(2)
      // Both attempts asked about every block; the second learnt most were there.
      expect(asked).toEqual([41, 41])
      expect(done.uploaded).toBeGreaterThan(size)
      expect(done.uploaded! - size).toBeLessThan(0.15 * size)
      // One pin, whole, nothing unfinished left.
      expect(pins.usage(account.address)).toMatchObject({ pins: 1, lost: 0, bytes: size })
      expect((await pins.holdings(account.address)).unfinished).toEqual([])
    } finally {
      outbox.stop()
    }
  })
})
