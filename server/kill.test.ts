import 'fake-indexeddb/auto'
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryBlockstore } from 'blockstore-core/memory'
import { LevelDatastore } from 'datastore-level'
import { CID } from 'multiformats/cid'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { accountFromMnemonic, newMnemonic } from '../src/account/index.ts'
import { BackupOutbox } from '../src/client/backups.ts'
import { CafeClient } from '../src/client/cafe-client.ts'
import { libp2pTransport } from '../src/client/libp2p-transport.ts'
import { MemorySessionStore } from '../src/client/session-store.ts'
import { blocksOf } from '../src/ipfs/blocks.ts'
import { tcpTestNode } from '../test/fixtures/tcp-node.ts'
import { httpOverLibp2p } from '../src/node/http/index.ts'
import { freePort } from '../test/fixtures/raw-http.ts'
import { call, dag } from './test-helpers.ts'
import type { CafeTransport } from '../src/client/cafe-client.ts'
import type { ChildProcess } from 'node:child_process'

const dirs: string[] = []
const children = new Set<ChildProcess>()
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL')
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

const sleep = async (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

async function until<T> (what: string, fn: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  return vi.waitFor(async () => {
    const v = await fn().catch(() => undefined)
    if (v === undefined) throw new Error(`timed out waiting for ${what}`)
    return v
  }, { timeout: ms, interval: 100 })
}

/** The real `npm run cafe` process (server/cafe-main.ts), on fixed ports so a client redials the same address. */
async function startCafe (dir: string, ports: Record<string, number>): Promise<{ child: ChildProcess, state: { peerId: string, http: string, owner: string } }> {
  await rm(join(dir, 'cafe.json'), { force: true })
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/cafe-main.ts', '--dir', dir, '--host', '127.0.0.1',
    '--tcp-port', String(ports.tcp), '--ws-port', String(ports.ws), '--http-port', String(ports.http), '--owner-port', String(ports.owner)], { stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  child.on('exit', () => children.delete(child))
  let out = ''
  child.stdout?.on('data', (b: Buffer) => { out += b.toString() })
  child.stderr?.on('data', (b: Buffer) => { out += b.toString() })
  const state = await until('the cafe to start', async () => JSON.parse(await readFile(join(dir, 'cafe.json'), 'utf8')), 60_000).catch(err => { throw new Error(`${(err as Error).message}\n${out}`) })
  return { child, state }
}

async function blockFiles (dir: string): Promise<{ blocks: number, temp: number }> {
  const names = (await readdir(join(dir, 'blocks'), { recursive: true })).map(n => n.split('/').at(-1) ?? '')
  return { blocks: names.filter(n => n.endsWith('.data') && !n.startsWith('.')).length, temp: names.filter(n => n.endsWith('.tmp')).length }
}

/** Every record the cafe keeps, read with the cafe down: each must be whole JSON. */
async function records (dir: string): Promise<Map<string, unknown>> {
  const ds = new LevelDatastore(join(dir, 'records'))
  await ds.open()
  const out = new Map<string, unknown>()
  try {
    for await (const { key, value } of ds.query({})) out.set(key.toString(), JSON.parse(new TextDecoder().decode(value)))
  } finally { await ds.close() }
  return out
}

/** The upload body, slowed so the kill lands in its middle (the cafe stores each block as it arrives). */
function slowUploads (inner: CafeTransport, started: () => void): CafeTransport {
  return async (cafe, request, signal) => {
    if (new URL(request.url).pathname !== '/cafe/v1/uploads' || request.body == null) return inner(cafe, request, signal)
    started()
    const reader = request.body.getReader()
    const body = new ReadableStream<Uint8Array>({
      async pull (c) {
        const { done, value } = await reader.read()
        if (done) { c.close(); return }
        await sleep(15)
        c.enqueue(value)
      },
      async cancel (why) { await reader.cancel(why) }
    })
    return inner(cafe, new Request(request, { body, duplex: 'half' } as RequestInit), signal)
  }
}

describe('the headless cafe killed with SIGKILL mid-upload', () => {
  it('restarts with no orphan blocks and no half record, keeps what the cut upload recorded, and the client\'s outbox completes the backup', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lightcafe-kill-'))
    dirs.push(dir)
    const ports = { tcp: await freePort(), ws: await freePort(), http: await freePort(), owner: await freePort() }
    let { child, state } = await startCafe(dir, ports)
    const owner = { authorization: `Bearer ${(await readFile(join(dir, 'owner.secret'), 'utf8')).trim()}` }
    const { token } = (await call(state.owner, 'POST', '/api/v0/tokens', undefined, owner)).body

    // A client on its own libp2p node (TCP), with a 6 MiB DAG and the real backup outbox.
    const libp2p = await tcpTestNode(false, { http: httpOverLibp2p() })
    const account = accountFromMnemonic(newMnemonic())
    let uploads = 0
    const transport = slowUploads(libp2pTransport(libp2p.services.http, () => []), () => { uploads++ })
    const client = new CafeClient({ account: () => account, store: new MemorySessionStore(), transport })
    const cafeAddr = `/ip4/127.0.0.1/tcp/${ports.tcp}/p2p/${state.peerId}`
    await client.register(cafeAddr, token)
    const d = await dag(24, 256 * 1024)
    const blocks = blocksOf(new MemoryBlockstore())
    for (const [cid, bytes] of d.blocks) await blocks.put(CID.parse(cid), bytes)
    const dbName = `kill-outbox-${Date.now()}`
    let outbox = new BackupOutbox({ client, blocks, dbName, metaOf: async () => ({}), snapshotOf: async () => { throw new Error('no threads') } })
    await outbox.start()
    try {
      await outbox.backup(d.root.toString())
      // Some blocks are on the cafe's disk, not all: kill it now.
      await until('blocks to arrive at the cafe', async () => { const f = await blockFiles(dir); return f.blocks >= 4 ? f : undefined })
      expect((await blockFiles(dir)).blocks).toBeLessThan(d.blocks.size)
      child.kill('SIGKILL')
      await new Promise(resolve => child.once('exit', resolve))
      outbox.stop()

      // Down: every record is whole, and none is a pin of the interrupted upload; its durable
      // batches are recorded as an unfinished upload.
      const held = await records(dir)
      expect([...held.keys()].some(k => k.startsWith('/cafe/session/'))).toBe(true)
      expect([...held.keys()].filter(k => k.startsWith('/pins/'))).toEqual([])
      const kept = new Set([...held].flatMap(([k, v]) => k.startsWith('/uploads/') ? (v as { blocks: Array<{ cid: string }> }).blocks.map(b => b.cid) : []))

      // Up again: exactly the recorded blocks stay; those no record holds are gone, and so are unfinished writes.
      ;({ child, state } = await startCafe(dir, ports))
      expect(await blockFiles(dir)).toEqual({ blocks: kept.size, temp: 0 })

      // The outbox (a restarted device) sends the backup again and it completes.
      outbox = new BackupOutbox({ client, blocks, dbName, metaOf: async () => ({}), snapshotOf: async () => { throw new Error('no threads') } })
      await outbox.start()
      const done = await until('the backup to complete', async () => {
        const s = await outbox.status(d.root.toString())
        return s.cafes[0]?.status === 'pinned' ? s : undefined
      }, 60_000)
      expect(done.cafes[0].status).toBe('pinned')
      expect(uploads).toBeGreaterThanOrEqual(2)
      expect((await blockFiles(dir)).blocks).toBe(d.blocks.size)
      const pins = await call(state.http, 'GET', '/cafe/v1/pins', undefined, { authorization: `Bearer ${(await client.get(state.peerId)).access}` })
      // Over HTTP this libp2p session is refused: it is bound to the client's peer id.
      expect(pins.status).toBe(403)
    } finally {
      outbox.stop()
      await libp2p.stop()
      child.kill('SIGTERM')
      await new Promise(resolve => child.once('exit', resolve))
    }
  }, 150_000)
})
