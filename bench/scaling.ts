import { MemoryBlockstore } from 'blockstore-core/memory'
import { CID } from 'multiformats/cid'
import * as rawCodec from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { blocksOf } from '../src/ipfs/blocks.ts'
import { PinService } from '../src/cafe/pins/pin-service.ts'
import { MemoryPinStore } from '../src/cafe/pins/pin-store.ts'
import { parsePinObject, parsePinQuery } from '../src/cafe/pins/pin-service.ts'
import type { Page } from 'playwright-core'
import type { PinRecord } from '../src/cafe/pins/pin-store.ts'

/**
 * How cost grows: per-operation cost at 1x, 10x and 100x of the data a cafe holds. Each row
 * gives the operation's cost at each size and the growth from the smallest to the largest; a
 * per-operation cost that grows like the data (or faster) is what the table is there to catch.
 */

export interface ScalingRow { operation: string, unit: string, sizes: number[], costs: number[], growthSmallestToLargest: number }

const row = (operation: string, unit: string, sizes: number[], costs: number[]): ScalingRow => ({
  operation, unit, sizes, costs: costs.map(c => Math.round(c * 1000) / 1000), growthSmallestToLargest: Math.round(costs[costs.length - 1] / costs[0] * 100) / 100
})

/**
 * The cafe page's inbox with 100 / 10,000 / 100,000 stored messages: deliver (POST /inbox:
 * verify + one transaction), the same through the batch route, and collect (GET /inbox + POST /inbox/ack) for one registered
 * recipient, through the cafe's routes in its own page (no network: the store's cost shows).
 * The bulk is written straight into the inbox's IndexedDB (the product's schema and totals) for
 * other recipients: signing 100,000 envelopes would measure the signer, not the store.
 * `bodies[k]` are 100 envelopes (JSON) for the recipient, fresh for size k: 50 alone, 50 as one batch.
 */
export async function inboxScaling (cafe: Page, sizes: number[], bodies: string[][], recipient: { access: string, peerId: string }): Promise<ScalingRow[]> {
  const out = await cafe.evaluate(async ({ sizes, bodies, recipient }) => {
    // Through the cafe's routes, as a peer would call them (the env names the caller's peer id).
    const app = (globalThis as any).lightcafe.peer.cafeApp
    const call = async (method: string, path: string, body: unknown, remotePeer: string, access?: string): Promise<any> => {
      const headers: Record<string, string> = { 'content-type': 'application/json' }
      if (access != null) headers.authorization = `Bearer ${access}`
      const res: Response = await app.fetch(new Request(`http://cafe/cafe/v1${path}`, { method, headers, ...(body != null ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}) }), { remotePeer })
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`)
      return res.json()
    }
    // Filled through the cafe's own inbox store (one batch per 1,000), so its indexes see them.
    const store = (globalThis as any).lightcafe.peer.cafeInboxStore
    const filler = JSON.parse(bodies[0][0])
    let stored = 0
    const fill = async (upTo: number): Promise<void> => {
      while (stored < upTo) {
        const n = Math.min(1000, upTo - stored)
        const now = Date.now()
        const records = Array.from({ length: n }, (_, i) => {
          // 1,000 recipients of 100 each at most: every inbox within the per-recipient quota.
          const to = `z6MkBenchFiller${String((stored + i) % 1000).padStart(34, 'x')}`
          const envelope = { ...filler, to, id: `f${String(stored + i).padStart(21, '0')}` }
          return { to, from: envelope.from, id: envelope.id, envelope, bytes: JSON.stringify(envelope).length, received: new Date(now).toISOString(), expires: new Date(now + 86_400_000).toISOString() }
        })
        await store.addMany(records, { maxCount: Infinity, maxBytes: Infinity }, new Date(now).toISOString())
        stored += n
      }
    }
    const deliverMs: number[] = []
    const batchMs: number[] = []
    const collectMs: number[] = []
    for (const [k, size] of sizes.entries()) {
      await fill(size)
      const mine = bodies[k]
      const half = mine.length / 2
      let t = performance.now()
      for (const [i, e] of mine.slice(0, half).entries()) await call('POST', '/inbox', e, `bench-scaling-${k}-${i}`)
      deliverMs.push((performance.now() - t) / half)
      t = performance.now()
      const { results } = await call('POST', '/inbox/batch', `{"envelopes":[${mine.slice(half).join(',')}]}`, `bench-scaling-batch-${k}`)
      batchMs.push((performance.now() - t) / half)
      if (results.some((r: any) => typeof r.seq !== 'number')) throw new Error(`batch refused: ${JSON.stringify(results.find((r: any) => r.error != null))}`)
      t = performance.now()
      const { messages } = await call('GET', `/inbox?limit=${mine.length}`, null, recipient.peerId, recipient.access)
      await call('POST', '/inbox/ack', { messages: messages.map((m: any) => ({ from: m.envelope.from, id: m.envelope.id })) }, recipient.peerId, recipient.access)
      collectMs.push((performance.now() - t) / mine.length)
      if (messages.length !== mine.length) throw new Error(`collected ${messages.length} of ${mine.length}`)
    }
    return { deliverMs, batchMs, collectMs }
  }, { sizes, bodies, recipient })
  return [
    row('inbox deliver (POST /inbox: verify + store), per message', 'ms', sizes, out.deliverMs),
    row('inbox deliver through the batch route (50 in one request), per message', 'ms', sizes, out.batchMs),
    row('inbox collect (list 100 + ack), per message', 'ms', sizes, out.collectMs)
  ]
}

/**
 * The contact index with 1,000 and 100,000 contacts, in a page: index load at start (what
 * ContactIndex.load does with the stored contacts: one upsert each), per contact, and a
 * query (prefix + fuzzy, the search API's), per query.
 */
export async function contactScaling (page: Page, sizes: number[]): Promise<ScalingRow[]> {
  const out = await page.evaluate(async (sizes) => {
    const Index = (globalThis as any).lightcafe.peer.contactIndex.constructor
    const words = ['ana', 'bert', 'chloe', 'dmitri', 'elif', 'farid', 'greta', 'hiro', 'ines', 'jonas', 'kemal', 'lena', 'mads', 'nora', 'omar', 'pia']
    const base = { peers: [], inboxes: [], box: 'A'.repeat(43), sig: 'A'.repeat(86) }
    const queries = ['gre', 'hiro', 'jonasson', 'lnea', 'farid bert', 'pi', 'kemal', 'xyz']
    const loadUs: number[] = []
    const queryMs: number[] = []
    for (const n of sizes) {
      const contacts = Array.from({ length: n }, (_, i) => ({ ...base, address: `z6Mk${i.toString(36).padStart(44, 'x')}`, name: `${words[i % 16]} ${words[(i * 7) % 16]}son ${i}`, updated: new Date(1e12 + i).toISOString() }))
      let t = performance.now()
      const index = await Index.load({ all: async () => contacts })
      loadUs.push((performance.now() - t) * 1000 / n)
      const rounds = 10
      t = performance.now()
      for (let r = 0; r < rounds; r++) for (const q of queries) index.search(q, 20)
      queryMs.push((performance.now() - t) / (rounds * queries.length))
    }
    return { loadUs, queryMs }
  }, sizes)
  return [
    row('contact index load (rebuild from the store), per contact', 'µs', sizes, out.loadUs),
    row('contact search (prefix + fuzzy, 20 results), per query', 'ms', sizes, out.queryMs)
  ]
}

/**
 * Pins, in this process (the PinService's own bookkeeping over an in-memory store and
 * blockstore, so the table shows how its logic grows, not IndexedDB): `clients` clients with
 * `perClient` pinned one-block DAGs each. List (one client's pins, the default page), create (one
 * pin; its pull is queued), and start-up (load every record, rebuild the ledger, GC every block).
 */
export async function pinScaling (shapes: Array<{ clients: number, perClient: number }>): Promise<ScalingRow[]> {
  const listMs: number[] = []
  const createMs: number[] = []
  const startUs: number[] = []
  const totals: number[] = []
  for (const { clients, perClient: n } of shapes) {
    const store = new MemoryPinStore()
    const blocks = blocksOf(new MemoryBlockstore())
    let seq = 0
    for (let c = 0; c < clients; c++) {
      const address = `z6MkBenchClient${String(c).padStart(34, 'x')}`
      for (let i = 0; i < n; i++) {
        const bytes = new TextEncoder().encode(`block ${seq}`)
        const cid = CID.createV1(rawCodec.code, await sha256.digest(bytes))
        await blocks.put(cid, bytes)
        const record: PinRecord = { requestid: `r${seq}`, address, cid: cid.toString(), origins: [], meta: {}, status: 'pinned', created: new Date(1e12 + seq).toISOString(), blocks: [{ cid: cid.toString(), bytes: bytes.length }], bytes: bytes.length }
        await store.put(record)
        seq++
      }
    }
    // A few blocks no pin holds: GC has something to do.
    for (let i = 0; i < 10; i++) { const b = new TextEncoder().encode(`orphan ${i}`); await blocks.put(CID.createV1(rawCodec.code, await sha256.digest(b)), b) }
    totals.push(seq)
    let t = performance.now()
    const pins = new PinService({ blocks, store, quota: async () => 2 ** 40 })
    await pins.ready
    startUs.push((performance.now() - t) * 1000 / seq)
    const address = `z6MkBenchClient${String(0).padStart(34, 'x')}`
    const q = new URLSearchParams()
    const rounds = 20
    t = performance.now()
    for (let r = 0; r < rounds; r++) await pins.list(address, parsePinQuery(q))
    listMs.push((performance.now() - t) / rounds)
    const other = `z6MkBenchClient${String(1).padStart(34, 'x')}`
    // Below the per-client bound: remove one first where the client is at it.
    if (n >= 10_000) for (let i = 0; i < rounds; i++) await pins.remove(other, `r${n + i}`)
    t = performance.now()
    for (let r = 0; r < rounds; r++) {
      const bytes = new TextEncoder().encode(`new ${n} ${r}`)
      await pins.create({ address: other, peerId: '' }, parsePinObject({ cid: CID.createV1(rawCodec.code, await sha256.digest(bytes)).toString() }))
    }
    createMs.push((performance.now() - t) / rounds)
  }
  const label = (s: string): string => `${s}; sizes are all pins held (${shapes.map(x => `${x.clients} clients × ${x.perClient}`).join(' / ')})`
  return [
    row(label('pin list (one client, default page), per call'), 'ms', totals, listMs),
    row(label('pin create, per call'), 'ms', totals, createMs),
    row(label('start-up (load records, ledger, GC), per pin'), 'µs', totals, startUs)
  ]
}
