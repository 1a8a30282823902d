import 'fake-indexeddb/auto'
import * as dagPb from '@ipld/dag-pb'
import { MemoryBlockstore } from 'blockstore-core/memory'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { describe, expect, it } from 'vitest'
import { accountFromMnemonic, newMnemonic } from '../account/index.ts'
import { memoryBackupCafe } from '../../test/fixtures/backup-cafe.ts'
import { blocksOf } from '../ipfs/blocks.ts'
import { BackupOutbox } from './backups.ts'
import { CafeClient } from './cafe-client.ts'
import { MemorySessionStore } from './session-store.ts'
import { parsePinQuery } from '../cafe/pins/pin-service.ts'
import type { PinService } from '../cafe/index.ts'
import type { BackupProgressEvent } from './backups.ts'
import type { Blocks } from '../ipfs/blocks.ts'
import type { CafeTransport } from './cafe-client.ts'

let dbs = 0

/** A cafe (host, pins, app) in memory, and devices of one account that back up to it. */
async function setup (): Promise<{
  cafeId: string
  pins: PinService
  address: string
  device: (peer: string, hold?: (req: Request) => Promise<void>) => Promise<{ outbox: BackupOutbox, blocks: Blocks }>
  dag: CID
  dagBlocks: Array<{ cid: CID, bytes: Uint8Array }>
}> {
  const { cafeId, host, pins, app } = await memoryBackupCafe()
  const account = accountFromMnemonic(newMnemonic())
  const { token } = await host.createToken()

  const leaf = new TextEncoder().encode('a file both devices back up')
  const leafCid = CID.createV1(raw.code, await sha256.digest(leaf))
  const rootBytes = dagPb.encode(dagPb.prepare({ Links: [{ Hash: leafCid, Name: 'f', Tsize: leaf.length }] }))
  const dag = CID.createV1(dagPb.code, await sha256.digest(rootBytes))
  const dagBlocks = [{ cid: dag, bytes: rootBytes }, { cid: leafCid, bytes: leaf }]

  const device = async (peer: string, hold?: (req: Request) => Promise<void>): Promise<{ outbox: BackupOutbox, blocks: Blocks }> => {
    const transport: CafeTransport = async (_cafe, request) => {
      await hold?.(request)
      return app.fetch(request, { remotePeer: peer })
    }
    const client = new CafeClient({ account: () => account, store: new MemorySessionStore(), transport })
    await client.register(cafeId, token)
    const blocks = blocksOf(new MemoryBlockstore())
    for (const b of dagBlocks) await blocks.put(b.cid, b.bytes)
    const outbox = new BackupOutbox({ client, blocks, dbName: `backups-test-${++dbs}`, metaOf: async () => ({}), snapshotOf: async () => { throw new Error('no threads here') } })
    await outbox.start()
    return { outbox, blocks }
  }
  return { cafeId, pins, address: account.address, device, dag, dagBlocks }
}

/** Waits until the outbox has no job left. */
async function settled (outbox: BackupOutbox): Promise<void> {
  await expect.poll(async () => Object.keys(await outbox.pending()).length, { timeout: 10_000 }).toBe(0)
}

const ALL = new URLSearchParams({ status: 'queued,pinning,pinned,failed' })

describe('backup outbox against a cafe', () => {
  it('unpinning on one device removes its own pin, not the pin another device of the account holds', async () => {
    const { pins, address, device, dag } = await setup()
    const one = await device('peer-one')
    const two = await device('peer-two')
    await one.outbox.backup(dag.toString())
    await two.outbox.backup(dag.toString())
    await settled(one.outbox)
    await settled(two.outbox)
    expect((await pins.list(address, parsePinQuery(ALL))).count).toBe(2)
    const theirs = (await two.outbox.status(dag.toString())).cafes[0]
    expect(theirs.status).toBe('pinned')

    await one.outbox.unpin(dag.toString())
    await settled(one.outbox)
    await expect(one.outbox.status(dag.toString())).rejects.toMatchObject({ reason: 'BACKUP_NOT_FOUND' })
    const left = await pins.list(address, parsePinQuery(ALL))
    expect(left.count).toBe(1)
    expect(left.results[0].status).toBe('pinned')
    one.outbox.stop()
    two.outbox.stop()
  })

  it('a backup queued while the same CID is being unpinned ends pinned on both sides', async () => {
    const { pins, address, device, dag } = await setup()
    let release: () => void = () => {}
    let held = false
    const gate = new Promise<void>(resolve => { release = resolve })
    const d = await device('peer-one', async req => {
      if (req.method === 'DELETE') { held = true; await gate } // the unpin is on its way to the cafe
    })
    await d.outbox.backup(dag.toString())
    await settled(d.outbox)
    await d.outbox.unpin(dag.toString())
    await expect.poll(() => held).toBe(true)
    await d.outbox.backup(dag.toString()) // the user changes their mind mid-unpin
    release()
    await settled(d.outbox)

    const local = (await d.outbox.status(dag.toString())).cafes[0]
    expect(local.status).toBe('pinned')
    const atCafe = await pins.list(address, parsePinQuery(ALL))
    expect(atCafe.count).toBe(1)
    expect(atCafe.results[0].status).toBe('pinned')
    const record = (await d.outbox.list())[0]
    expect(record.cafes[0].status).toBe('pinned')
    d.outbox.stop()
  })

  it('an unpin queued while the backup is uploading ends with nothing on both sides', async () => {
    const { pins, address, device, dag } = await setup()
    let release: () => void = () => {}
    let held = false
    const gate = new Promise<void>(resolve => { release = resolve })
    const d = await device('peer-one', async req => {
      if (new URL(req.url).pathname.endsWith('/uploads')) { held = true; await gate }
    })
    await d.outbox.backup(dag.toString())
    await expect.poll(() => held).toBe(true)
    await d.outbox.unpin(dag.toString())
    release()
    await settled(d.outbox)
    await expect(d.outbox.status(dag.toString())).rejects.toMatchObject({ reason: 'BACKUP_NOT_FOUND' })
    expect((await pins.list(address, parsePinQuery(ALL))).count).toBe(0)
    d.outbox.stop()
  })

  it('tells a watcher of each change as typed progress events: queued, pinning, bytes sent, pinned, unpinning, removed', async () => {
    const { device, dag, dagBlocks } = await setup()
    const d = await device('peer-one')
    const events: BackupProgressEvent[] = []
    const stop = new AbortController()
    d.outbox.watch({ signal: stop.signal, onProgress: e => { events.push(e) } })
    await d.outbox.backup(dag.toString())
    await settled(d.outbox)
    await expect.poll(() => events.at(-1)?.type === 'backup:progress' && events.at(-1)?.detail).toMatchObject({ cafe: { status: 'pinned' } })
    const states = events.map(e => e.type === 'backup:progress' ? e.detail.cafe.status : 'removed')
    expect(states[0]).toBe('queued')
    expect(states.at(-1)).toBe('pinned')
    // While uploading: pinning, with the bytes sent growing to at least the DAG's blocks.
    const sent = events.flatMap(e => e.type === 'backup:progress' && e.detail.cafe.status === 'pinning' && e.detail.cafe.sent != null ? [e.detail.cafe.sent] : [])
    expect(sent.length).toBeGreaterThan(0)
    expect([...sent].sort((a, b) => a - b)).toEqual(sent)
    expect(sent.at(-1)).toBeGreaterThanOrEqual(dagBlocks.reduce((n, b) => n + b.bytes.length, 0))

    events.length = 0
    await d.outbox.unpin(dag.toString())
    await settled(d.outbox)
    await expect.poll(() => events.at(-1)?.type).toBe('backup:removed')
    expect(events[0]).toMatchObject({ type: 'backup:progress', detail: { cid: dag.toString(), cafe: { status: 'unpinning' } } })

    // Once its signal aborts, a watcher hears nothing more.
    stop.abort()
    events.length = 0
    await d.outbox.backup(dag.toString())
    await settled(d.outbox)
    expect(events).toEqual([])
    d.outbox.stop()
  })

  it('backing up a DAG already pinned at a cafe queues nothing there and asks it nothing', async () => {
    const { pins, address, device, dag } = await setup()
    const asked: string[] = []
    const d = await device('peer-one', async req => { asked.push(`${req.method} ${new URL(req.url).pathname}`) })
    await d.outbox.backup(dag.toString())
    await settled(d.outbox)
    expect((await d.outbox.status(dag.toString())).cafes[0].status).toBe('pinned')
    const events: BackupProgressEvent[] = []
    d.outbox.watch({ onProgress: e => { events.push(e) } })
    asked.length = 0

    const again = await d.outbox.backup(dag.toString())
    expect(again.cafes).toEqual([expect.objectContaining({ status: 'pinned' })])
    expect(await d.outbox.pending()).toEqual({})
    await settled(d.outbox)
    expect(events).toEqual([])
    expect(asked).toEqual([])
    expect((await pins.list(address, parsePinQuery(ALL))).count).toBe(1)
    d.outbox.stop()
  })
})
