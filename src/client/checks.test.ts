import 'fake-indexeddb/auto'
import { MemoryBlockstore } from 'blockstore-core/memory'
import { CID } from 'multiformats/cid'
import { describe, expect, it } from 'vitest'
import { accountFromMnemonic, newMnemonic } from '../account/index.ts'
import { memoryBackupCafe } from '../../test/fixtures/backup-cafe.ts'
import { blocksOf } from '../ipfs/blocks.ts'
import { storedDag } from '../../test/fixtures/car.ts'
import { exportBlocksCar } from '../ipfs/car.ts'
import { openCar } from '../ipfs/verify.ts'
import { toBase64url } from '../shared/bytes.ts'
import { iterateStream, streamFromIterator } from '../shared/streams.ts'
import { BackupOutbox } from './backups.ts'
import { CafeClient } from './cafe-client.ts'
import { BackupChecks } from './checks.ts'
import { backupHealth } from './health.ts'
import { MemorySessionStore } from './session-store.ts'
import type { CafeTransport } from './cafe-client.ts'

const KiB = 1024
let dbs = 0

type Cafe = Awaited<ReturnType<typeof memoryBackupCafe>>
/** How a test makes a cafe misbehave: its answer to a request, or undefined to let the cafe answer. */
type Twist = (request: Request, cafe: Cafe) => Promise<Response | undefined>

/** Two cafes in memory, one device of one account with a DAG of 20 leaves, its outbox and its checks. */
async function setUp () {
  const cafes = [await memoryBackupCafe(), await memoryBackupCafe()]
  const twists = new Map<string, Twist>()
  const account = accountFromMnemonic(newMnemonic())
  const transport: CafeTransport = async (target, request) => {
    const cafe = cafes.find(c => c.cafeId === target.id)!
    return (await twists.get(cafe.cafeId)?.(request, cafe)) ?? cafe.app.fetch(request, { remotePeer: 'device' })
  }
  const client = new CafeClient({ account: () => account, store: new MemorySessionStore(), transport })
  const blocks = blocksOf(new MemoryBlockstore())
  const { root, rootBytes, leaves } = await storedDag(blocks, 20, 4 * KiB)
  const n = ++dbs
  const outbox = new BackupOutbox({
    client,
    blocks,
    dbName: `checks-test-${n}/backups`,
    metaOf: async () => ({}),
    snapshotOf: async id => ({ id: `snap-${id}`, ciphertext: toBase64url(new Uint8Array(48)) }),
    threadIds: async () => ['album']
  })
  await outbox.start()
  const checks = new BackupChecks({ client, outbox, dbName: `checks-test-${n}/checks` })
  const join = async (cafe: Cafe): Promise<void> => { await client.register(cafe.cafeId, (await cafe.host.createToken()).token) }
  const at = async (cafe: Cafe) => (await outbox.status(root.toString())).cafes.find(c => c.id === cafe.cafeId)
  const health = async () => backupHealth({ now: Date.now(), silentMs: 86_400_000, sessions: await client.list(), backups: await outbox.records(), checks: await checks.records(), checking: id => checks.checking(id) })
  return { cafes, twists, account, client, outbox, checks, root, leaves, size: 20 * 4 * KiB + rootBytes.length, join, at, health }
}

describe('backfill and proofs of storage', () => {
  it('a cafe added later gets every backup and the threads\' snapshots; one that loses blocks is caught and gets only those again; leaving forgets it', async () => {
    const { cafes: [a, b], account, client, outbox, checks, root, leaves, size, join, at, health } = await setUp()
    try {
      await join(a)
      await outbox.backup(root.toString())
      await expect.poll(async () => (await at(a))?.status).toBe('pinned')
      expect((await health()).warnings[0]).toMatchObject({ reason: 'SINGLE_CAFE', action: 'add-cafe' })

      // Backfill: registering with B queues the backup and the thread's snapshot there, through the same outbox.
      await join(b)
      await expect.poll(async () => (await at(b))?.status, { timeout: 10_000 }).toBe('pinned')
      expect(b.pins.usage(account.address)).toMatchObject({ pins: 1, bytes: size })
      await expect.poll(async () => (await b.snapshots.list(account.address)).map(s => s.id)).toEqual(['snap-album'])
      expect((await health()).warnings).toEqual([])

      // Three leaves vanish from A's store behind its back.
      for (const l of leaves.slice(3, 6)) await a.blocks.delete(l.cid)
      const before = (await at(a))!.uploaded!
      const found = await checks.check(a.cafeId)
      expect(found).toMatchObject({ ok: false, reason: 'BLOCKS_LOST', missing: 3, audited: 21, proof: true })
      expect((await health()).perCafe.find(c => c.id === a.cafeId)).toMatchObject({ state: 'failed', repaired: { blocks: 3, bytes: 3 * 4 * KiB, backups: 1 } })
      // The repair: only those three blocks travel (and the CAR's framing), into the same pin.
      await expect.poll(async () => (await at(a))?.status, { timeout: 10_000 }).toBe('pinned')
      const resent = (await at(a))!.uploaded! - before
      expect(resent).toBeGreaterThanOrEqual(3 * 4 * KiB)
      expect(resent).toBeLessThan(3 * 4 * KiB + 1024)
      expect(a.pins.usage(account.address)).toMatchObject({ pins: 1, lost: 0 })
      expect(await checks.check(a.cafeId)).toMatchObject({ ok: true, missing: 0 })
      expect((await health()).perCafe.find(c => c.id === a.cafeId)?.state).toBe('ok')

      // Leaving B: its records go here (B forgot this account's pins itself).
      await client.deregister(b.cafeId)
      await expect.poll(async () => (await outbox.at(b.cafeId)).length).toBe(0)
      expect(b.pins.usage(account.address)).toMatchObject({ pins: 0, bytes: 0 })
    } finally {
      outbox.stop()
    }
  })

  it('a cafe that answers a proof with forged bytes, or leaves blocks out while claiming them, is marked failed', async () => {
    const { cafes: [a], twists, outbox, checks, root, join, at, health } = await setUp()
    try {
      await join(a)
      await outbox.backup(root.toString())
      await expect.poll(async () => (await at(a))?.status).toBe('pinned')
      // Forged: every block asked for, with bytes that are not its.
      twists.set(a.cafeId, async request => {
        if (new URL(request.url).pathname !== '/cafe/v1/proofs') return undefined
        const { cids } = await request.json() as { cids: string[] }
        return new Response(streamFromIterator(exportBlocksCar([], cids.map(c => ({ cid: CID.parse(c), bytes: new TextEncoder().encode('made up') })))))
      })
      expect(await checks.check(a.cafeId)).toMatchObject({ ok: false, reason: 'PROOF_FAILED', forged: 1 })
      const h = await health()
      expect(h.perCafe[0].state).toBe('failed')
      expect(h.warnings.map(w => w.reason)).toContain('PROOF_FAILED')

      // Claims every block in have/want, then sends none of those asked.
      twists.set(a.cafeId, async (request, cafe) => {
        if (new URL(request.url).pathname !== '/cafe/v1/proofs') return undefined
        const res = await cafe.app.fetch(request, { remotePeer: 'device' })
        const { blocks } = await openCar(iterateStream(res.body!))
        for await (const _ of blocks) { /* dropped */ }
        return new Response(streamFromIterator(exportBlocksCar([], [])))
      })
      const dropped = await checks.check(a.cafeId)
      expect(dropped.ok).toBe(false)
      expect(dropped.missing).toBeGreaterThan(0)
      expect(dropped.proven).toBe(0)
      expect((await health()).perCafe[0].state).toBe('failed')
    } finally {
      outbox.stop()
    }
  })
})
