import 'fake-indexeddb/auto'
import { openDB } from 'idb'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { Outbox } from './outbox.ts'
import { Wake } from '../shared/wake.ts'
import type { JobOutcome, OutboxInit, OutboxJob } from './outbox.ts'
import type { IDBPDatabase } from 'idb'

// The shared outbox on a real IndexedDB API (fake-indexeddb), with a runner the test scripts.
interface Job extends OutboxJob { to: string, body: string }

let dbs = 0
const open = async (name: string): Promise<IDBPDatabase> => openDB(name, 1, {
  upgrade (db) { db.createObjectStore('jobs', { keyPath: 'seq', autoIncrement: true }).createIndex('to', 'to') }
})

const started: Array<Outbox<Job>> = []
afterEach(() => { for (const o of started.splice(0)) o.stop() })

function outbox (db: Promise<IDBPDatabase>, run: OutboxInit<Job>['run'], more: Partial<OutboxInit<Job>> = {}): Outbox<Job> {
  const o = new Outbox<Job>({ db, store: 'jobs', keyOf: j => j.to, idOf: j => j.seq!, run, retry: { firstMs: 20, maxMs: 80 }, ...more })
  started.push(o)
  return o
}

const job = (to: string, body: string, notBefore = 0): Job => ({ to, body, attempts: 0, notBefore })

describe('the persistent outbox', () => {
  it('runs each key\'s jobs in the order they were added, keys side by side', async () => {
    const db = open(`outbox-order-${++dbs}`)
    const ran: string[] = []
    const o = outbox(db, async ([j]) => { ran.push(`${j.to}:${j.body}`); return [{ state: 'done' }] }, { keyIndex: 'to' })
    // Queued before the outbox starts (left by an earlier run), then more added while it drains.
    const d = await db
    for (const body of ['1', '2', '3']) { await d.add('jobs', job('a', body)); await d.add('jobs', job('b', body)) }
    await o.start()
    for (const body of ['4', '5']) { await o.add(job('a', body)); await o.add(job('b', body)) }
    await vi.waitFor(async () => { expect(await o.pending()).toEqual({}) }, { timeout: 5_000, interval: 10 })
    expect(ran.filter(r => r.startsWith('a:'))).toEqual(['a:1', 'a:2', 'a:3', 'a:4', 'a:5'])
    expect(ran.filter(r => r.startsWith('b:'))).toEqual(['b:1', 'b:2', 'b:3', 'b:4', 'b:5'])
  })

  it('gives a batch runner every due job of a key up to the first that must wait', async () => {
    const db = open(`outbox-batch-${++dbs}`)
    const now = Date.now()
    const d = await db
    for (const j of [job('a', '1'), job('a', '2'), job('a', '3', now + 60_000), job('a', '4')]) await d.add('jobs', j)
    const batches: string[][] = []
    const o = outbox(db, async jobs => { batches.push(jobs.map(j => j.body)); return jobs.map((): JobOutcome => ({ state: 'done' })) }, { batch: Infinity, now: () => now })
    await o.start()
    await vi.waitFor(async () => { expect(await o.pending()).toEqual({ a: 2 }) }, { timeout: 5_000, interval: 10 })
    // The third is not due, and it holds back the fourth: order per key holds.
    expect(batches).toEqual([['1', '2']])
  })

  it('waits out notBefore, then retries with the shared backoff, keeping the error', async () => {
    const db = open(`outbox-retry-${++dbs}`)
    // The outbox's clock is the test's: what is due depends on it alone, not on how busy the machine is.
    let clock = 1_000_000
    const seen: Array<Pick<Job, 'attempts' | 'lastError'>> = []
    let fails = 2
    const o = outbox(db, async ([j]) => {
      seen.push({ attempts: j.attempts, lastError: j.lastError })
      return [fails-- > 0 ? { state: 'retry', error: new Error(`down ${fails}`) } : { state: 'done' }]
    }, { now: () => clock })
    await o.add(job('a', 'x'))
    // After the first failure: attempts 1, the error kept, due 20 ms later (firstMs × 2^0).
    await vi.waitFor(async () => {
      const [e] = await o.entries()
      expect(e.job).toMatchObject({ attempts: 1, lastError: 'down 1', notBefore: clock + 20 })
      expect(e.state).toBe('retrying')
    }, { timeout: 5_000, interval: 5 })
    // 1 ms before it is due, however long real time runs, it is not tried.
    clock += 19
    await new Promise(resolve => setTimeout(resolve, 100))
    expect(seen).toHaveLength(1)
    clock += 1
    // Tried when due; failed again: due 40 ms later (firstMs × 2^1).
    await vi.waitFor(async () => {
      const [e] = await o.entries()
      expect(e.job).toMatchObject({ attempts: 2, lastError: 'down 0', notBefore: clock + 40 })
    }, { timeout: 5_000, interval: 5 })
    clock += 40
    await vi.waitFor(async () => { expect(await o.pending()).toEqual({}) }, { timeout: 5_000, interval: 10 })
    expect(seen).toEqual([{ attempts: 0, lastError: undefined }, { attempts: 1, lastError: 'down 1' }, { attempts: 2, lastError: 'down 0' }])
  })

  it('cuts a pending backoff short when woken (the network or a peer came back), and backs off again after a failure', async () => {
    const db = open(`outbox-wake-${++dbs}`)
    const wake = new Wake()
    let down = true
    let runs = 0
    // A backoff far longer than the test: only the wake can bring the retry.
    const o = outbox(db, async () => { runs++; return [down ? { state: 'retry', error: new Error('cafe away') } : { state: 'done' }] }, { wake, retry: { firstMs: 600_000 } })
    await o.add(job('a', 'x'))
    await vi.waitFor(async () => { expect((await o.entries())[0]).toMatchObject({ state: 'retrying', job: { attempts: 1 } }) }, { timeout: 5_000, interval: 5 })
    // Still down when woken: one more attempt, then the backoff again (from where it stood).
    expect(wake.notify('online')).toBe(true)
    await vi.waitFor(async () => { expect((await o.entries())[0]).toMatchObject({ state: 'retrying', job: { attempts: 2 } }) }, { timeout: 5_000, interval: 5 })
    const [{ job: waiting }] = await o.entries()
    expect(waiting.notBefore - Date.now()).toBeGreaterThan(600_000)
    expect(runs).toBe(2)
    // Back: the next wake delivers it.
    down = false
    expect(wake.notify('peer', 'cafe-1')).toBe(true)
    await vi.waitFor(async () => { expect(await o.pending()).toEqual({}) }, { timeout: 5_000, interval: 5 })
    expect(runs).toBe(3)
  })

  it('runs a key woken in the middle of an attempt again right after it, without waiting its backoff', async () => {
    const db = open(`outbox-wake-running-${++dbs}`)
    const wake = new Wake()
    let release!: () => void
    const held = new Promise<void>(resolve => { release = resolve })
    let runs = 0
    const o = outbox(db, async () => {
      runs++
      if (runs === 1) { await held; return [{ state: 'retry' }] }
      return [{ state: 'done' }]
    }, { wake, retry: { firstMs: 600_000 } })
    await o.add(job('a', 'x'))
    await vi.waitFor(() => { expect(runs).toBe(1) }, { timeout: 5_000, interval: 5 })
    wake.notify('relay')
    release()
    await vi.waitFor(async () => { expect(await o.pending()).toEqual({}) }, { timeout: 5_000, interval: 5 })
    expect(runs).toBe(2)
  })

  it('drops a job that failed for good and moves on to the next', async () => {
    const db = open(`outbox-final-${++dbs}`)
    const ran: string[] = []
    const settled: string[] = []
    const o = outbox(db, async ([j]) => { ran.push(j.body); return [j.body === '1' ? { state: 'failed', error: new Error('no') } : { state: 'done' }] }, {
      settled: async ([j], [out]) => { settled.push(`${j.body}:${out.state}`) }
    })
    await o.add(job('a', '1'))
    await o.add(job('a', '2'))
    await vi.waitFor(async () => { expect(await o.pending()).toEqual({}) }, { timeout: 5_000, interval: 10 })
    expect(ran).toEqual(['1', '2'])
    expect(settled).toEqual(['1:failed', '2:done'])
  })

  it('keeps attempts, notBefore and the last error across a reopen, and resumes on start', async () => {
    const name = `outbox-reopen-${++dbs}`
    const first = open(name)
    const o1 = outbox(first, async () => [{ state: 'retry', error: new Error('cafe away') }], { retry: { firstMs: 60_000 } })
    await o1.add(job('a', 'x'))
    await vi.waitFor(async () => { expect((await o1.entries())[0]?.job.attempts).toBe(1) }, { timeout: 5_000, interval: 5 })
    o1.stop()
    const before = (await o1.entries())[0].job
    ;(await first).close()

    const second = open(name)
    const ran: string[] = []
    let clock = Date.now()
    const o2 = outbox(second, async ([j]) => { ran.push(j.body); return [{ state: 'done' }] }, { now: () => clock })
    const [e] = await o2.entries()
    expect(e.job).toEqual(before)
    expect(e.job.lastError).toBe('cafe away')
    expect(e.state).toBe('retrying')
    // Not due yet: start leaves it waiting.
    await o2.start()
    await new Promise(resolve => setTimeout(resolve, 50))
    expect(ran).toEqual([])
    // Past its notBefore, a kick runs it.
    clock = before.notBefore + 1
    o2.kick('a')
    await vi.waitFor(async () => { expect(await o2.pending()).toEqual({}) }, { timeout: 5_000, interval: 10 })
    expect(ran).toEqual(['x'])
    ;(await second).close()
  })

  it('honours AbortOptions', async () => {
    const o = outbox(open(`outbox-abort-${++dbs}`), async () => [{ state: 'done' }])
    const gone = AbortSignal.abort(new Error('gone'))
    await expect(o.add(job('a', 'x'), { signal: gone })).rejects.toThrow('gone')
    await expect(o.pending({ signal: gone })).rejects.toThrow('gone')
    expect(await o.pending()).toEqual({})
  })
})
