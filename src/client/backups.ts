import { openDB } from 'idb'
import { exportBlocksCar } from '../ipfs/car.ts'
import { parseCid } from '../ipfs/gateway.ts'
import { READ_AHEAD, walkDag } from '../ipfs/dag.ts'
import { randomBytes, toBase64url } from '../shared/bytes.ts'
import { LightcafeError, NotFoundError } from '../shared/errors.ts'
import { streamFromIterator } from '../shared/streams.ts'
import { readBlocks, wantedBlocks } from './have-want.ts'
import { Outbox } from './outbox.ts'
import type { CafeClient } from './cafe-client.ts'
import type { Blocks } from '../ipfs/blocks.ts'
import type { BlockRef } from '../ipfs/verify.ts'
import type { JobOutcome } from './outbox.ts'
import type { Wake } from '../shared/wake.ts'
import type { AbortOptions } from '@libp2p/interface'
import type { DBSchema, IDBPDatabase } from 'idb'

export const OUTBOX_TIMING = {
  /** First retry after a transient failure; doubles per attempt up to the cap. */
  firstRetryMs: 1_000,
  maxRetryMs: 15_000,
  /** An upload may take long (100 MiB at a few MB/s); a dead link ends it sooner by closing the stream. */
  uploadTimeoutMs: 30 * 60_000
} as const

export type BackupState = 'queued' | 'pinning' | 'pinned' | 'failed' | 'unpinning'

/** A DAG's backup at one cafe. */
export interface BackupRecord {
  cid: string
  cafe: string
  status: BackupState
  error?: { reason: string, details: string }
  /** The cafe's pin request id, once pinned. */
  requestid?: string
  /** The DAG's block bytes (an upload sends a little more: the CAR's framing), for progress. */
  size?: number
  /** Bytes this device sent to the cafe for it, every attempt together (a resumed upload sends only what the cafe lacked). */
  uploaded?: number
  updated: string
}

/** A backed-up DAG's blocks as this device walked them: what have/want asks about and proofs choose from. */
export interface DagRecord { cid: string, blocks: BlockRef[], bytes: number }

/**
 * A backup's state at one cafe as the views show it: while it uploads, `sent` is how far it
 * got (bytes the cafe held already, then those sent); `uploaded` the bytes really sent to it,
 * every attempt together.
 */
export interface BackupView { id: string, status: BackupState, error?: { reason: string, details: string }, sent?: number, size?: number, uploaded?: number }

/**
 * What a backup at one cafe came to, as Helia reports progress (`ProgressEvent`): its new state
 * (each chunk of an upload too), or gone (unpinned there).
 */
export type BackupProgressEvent =
  | { type: 'backup:progress', detail: { cid: string, cafe: BackupView } }
  | { type: 'backup:removed', detail: { cid: string, id: string } }

/** Options of `watch`, as Helia's `ProgressOptions` with `AbortOptions`: told of every change until the signal aborts. */
export interface BackupProgressOptions extends AbortOptions { onProgress: (event: BackupProgressEvent) => void }

/** One unit of outbox work; a cafe's jobs run one at a time, in the order they were queued. */
interface Job {
  /** Given by the store (autoIncrement): the order jobs were queued in. */
  seq?: number
  cafe: string
  kind: 'pin' | 'unpin' | 'snapshot'
  /** The DAG's CID (pin, unpin) or the thread id (snapshot). */
  target: string
  /** An unpin: the pin to delete, when known as it was queued (else the record's, or this device's by name). */
  requestid?: string
  attempts: number
  notBefore: number
  lastError?: string
}

interface OutboxDB extends DBSchema {
  jobs: { key: number, value: Job, indexes: { cafe: string } }
  backups: { key: [string, string], value: BackupRecord, indexes: { cid: string } }
  /** Version 2: this device's random tag, the name its uploads carry (its pins among the account's). */
  device: { key: 'tag', value: string }
  /** Version 3: each backed-up DAG's blocks. */
  dags: { key: string, value: DagRecord }
  /** Version 4: the cafes this outbox has seen (a new one is backfilled, a gone one forgotten). */
  cafes: { key: string, value: { id: string, added: string } }
}

export interface OutboxInit {
  client: CafeClient
  /** This device's blocks (local only: a backup never waits on the network for its own data). */
  blocks: Blocks
  dbName: string
  /** Pin metadata for a DAG (the sealed file record, when the DAG is one of this device's files). */
  metaOf: (cid: string) => Promise<Record<string, string>>
  /** A thread's current snapshot: its id at the cafe and its ciphertext. */
  snapshotOf: (threadId: string) => Promise<{ id: string, ciphertext: string }>
  /** The account's threads: a cafe added later gets each one's newest snapshot. */
  threadIds?: () => Promise<string[]>
  /** When it fires (the network or a cafe came back), jobs waiting out a backoff run at once. */
  wake?: Wake
  now?: () => number
}

/**
 * Errors worth retrying: the cafe or the path is away, or the cafe is busy; and a DAG the cafe
 * found incomplete a few times (it lost a block between have/want and the upload: asked again,
 * it names it). Anything else is final.
 */
function transient (err: unknown, attempts: number): boolean {
  if (!(err instanceof LightcafeError)) return true
  if (err.reason === 'DAG_INCOMPLETE') return attempts < 3
  return err.status >= 500 || err.status === 408 || err.status === 429
}

/**
 * The backup outbox: pins and snapshots to send to each cafe, kept in IndexedDB so nothing is
 * lost on a reload or crash, retried with backoff while a cafe is unreachable, in order per
 * cafe. Each backup's state per cafe is visible (queued, pinning, pinned, failed with the reason).
 */
export class BackupOutbox extends EventTarget {
  readonly #client: CafeClient
  readonly #blocks: Blocks
  readonly #db: Promise<IDBPDatabase<OutboxDB>>
  readonly #metaOf: OutboxInit['metaOf']
  readonly #snapshotOf: OutboxInit['snapshotOf']
  readonly #threadIds: () => Promise<string[]>
  readonly #now: () => number
  /** The `jobs` store as a queue per cafe, one job at a time, retried with backoff. */
  readonly #outbox: Outbox<Job>
  /** How far the current upload per `cid|cafe` got (held there already, then sent): progress for the views. */
  readonly #sent = new Map<string, number>()
  /** Bytes the current upload per `cid|cafe` really sent. */
  readonly #uploading = new Map<string, number>()
  readonly #watchers = new Set<(event: BackupProgressEvent) => void>()

  constructor (init: OutboxInit) {
    super()
    this.#client = init.client
    this.#blocks = init.blocks
    this.#metaOf = init.metaOf
    this.#snapshotOf = init.snapshotOf
    this.#threadIds = init.threadIds ?? (async () => [])
    this.#now = init.now ?? Date.now
    this.#db = openDB<OutboxDB>(init.dbName, 4, {
      upgrade (db, old, _new, tx) {
        if (old < 1) {
          db.createObjectStore('jobs', { keyPath: 'seq', autoIncrement: true }).createIndex('cafe', 'cafe')
          db.createObjectStore('backups', { keyPath: ['cid', 'cafe'] }).createIndex('cid', 'cid')
        }
        if (old < 2) {
          db.createObjectStore('device')
          void tx.objectStore('device').put(`lc-device-${toBase64url(randomBytes(12))}`, 'tag')
        }
        if (old < 3) db.createObjectStore('dags', { keyPath: 'cid' })
        if (old < 4) db.createObjectStore('cafes', { keyPath: 'id' })
      }
    })
    this.#outbox = new Outbox<Job>({
      db: this.#db,
      store: 'jobs',
      keyIndex: 'cafe',
      keyOf: job => job.cafe,
      idOf: job => job.seq!,
      run: async ([job]) => [await this.#attempt(job)],
      settled: async ([job], [outcome]) => { await this.#settled(job, outcome); this.dispatchEvent(new Event('change')) },
      retry: { firstMs: OUTBOX_TIMING.firstRetryMs, maxMs: OUTBOX_TIMING.maxRetryMs },
      wake: init.wake,
      now: this.#now
    })
  }

  /**
   * The name this device's uploads carry. Other devices of the account pin the same DAGs at
   * the same cafes; this tag finds this device's own pins when an answer was lost, so an
   * unpin here never deletes theirs.
   */
  async #device (): Promise<string> {
    this.#tag ??= (async () => (await (await this.#db).get('device', 'tag'))!)()
    return this.#tag
  }

  #tag: Promise<string> | undefined

  /** Resumes the jobs left by an earlier run (a reload mid-upload starts that upload again). */
  async start (options: AbortOptions = {}): Promise<void> {
    const db = await this.#db
    options.signal?.throwIfAborted()
    const tx = db.transaction('backups', 'readwrite')
    for (const b of await tx.store.getAll()) if (b.status === 'pinning') await tx.store.put({ ...b, status: 'queued' })
    await tx.done
    await this.#outbox.start(options)
    // Cafes registered or left since (another page, an earlier run): backfilled or forgotten now, then on every change.
    this.#client.addEventListener('change', this.#onSessions)
    await this.reconcile()
  }

  readonly #onSessions = (): void => { this.reconcile().catch(() => { /* tried again at the next change */ }) }

  #reconciling: Promise<void> = Promise.resolve()

  /**
   * Brings the outbox in line with the cafes this account is registered with: a cafe seen for
   * the first time gets every backup (a pin job each, through the same queue, with progress)
   * and each thread's newest snapshot: backfill. A cafe no longer registered (deregistered: it
   * forgot this account's pins itself) is forgotten here with its records and jobs. Runs one
   * at a time; safe to call again.
   */
  async reconcile (): Promise<void> {
    const run = this.#reconciling.then(async () => this.#reconcile())
    this.#reconciling = run.catch(() => {})
    await run
  }

  async #reconcile (): Promise<void> {
    const sessions = await this.#client.list()
    const active = sessions.filter(s => s.ended == null).map(s => s.id)
    const registered = new Set(sessions.map(s => s.id))
    const threads = await this.#threadIds()
    const db = await this.#db
    const tx = db.transaction(['jobs', 'backups', 'cafes', 'dags'], 'readwrite')
    const rows = await tx.objectStore('backups').getAll()
    const known = new Set((await tx.objectStore('cafes').getAll()).map(c => c.id))
    const now = new Date(this.#now()).toISOString()
    // Every DAG backed up anywhere and not being unpinned: what each cafe should hold.
    const wanted = new Map<string, number | undefined>()
    for (const r of rows) if (r.status !== 'unpinning') wanted.set(r.cid, r.size)
    const have = new Set(rows.map(r => `${r.cid}|${r.cafe}`))
    const queued: BackupRecord[] = []
    const kicked = new Set<string>()
    for (const cafe of active) {
      const isNew = !known.has(cafe)
      if (isNew) await tx.objectStore('cafes').put({ id: cafe, added: now })
      for (const [cid, size] of wanted) {
        if (have.has(`${cid}|${cafe}`)) continue
        const record: BackupRecord = { cid, cafe, status: 'queued', updated: now, ...(size != null ? { size } : {}) }
        await tx.objectStore('backups').put(record)
        await tx.objectStore('jobs').add({ cafe, kind: 'pin', target: cid, attempts: 0, notBefore: 0 })
        queued.push(record)
        kicked.add(cafe)
      }
      if (isNew) for (const id of threads) { await tx.objectStore('jobs').add({ cafe, kind: 'snapshot', target: id, attempts: 0, notBefore: 0 }); kicked.add(cafe) }
    }
    const gone = new Set([...known, ...rows.map(r => r.cafe)].filter(c => !registered.has(c)))
    for (const cafe of gone) {
      await tx.objectStore('cafes').delete(cafe)
      for (const r of rows) if (r.cafe === cafe) await tx.objectStore('backups').delete([r.cid, r.cafe])
      for (const seq of await tx.objectStore('jobs').index('cafe').getAllKeys(cafe)) await tx.objectStore('jobs').delete(seq)
    }
    // Block lists of DAGs no backup names any more (unpinned everywhere).
    const named = new Set(rows.map(r => r.cid))
    for (const cid of await tx.objectStore('dags').getAllKeys()) if (!named.has(cid)) await tx.objectStore('dags').delete(cid)
    await tx.done
    for (const r of queued) this.#progress(r)
    for (const cafe of gone) for (const r of rows) if (r.cafe === cafe) this.#emit({ type: 'backup:removed', detail: { cid: r.cid, id: cafe } })
    for (const cafe of kicked) this.#outbox.kick(cafe)
    if (queued.length > 0 || gone.size > 0) this.dispatchEvent(new Event('change'))
  }

  /** Every backup record (one per DAG and cafe). */
  async records (options: AbortOptions = {}): Promise<BackupRecord[]> {
    options.signal?.throwIfAborted()
    return (await this.#db).getAll('backups')
  }

  /** This account's backups at one cafe, as recorded here. */
  async at (cafe: string, options: AbortOptions = {}): Promise<BackupRecord[]> {
    options.signal?.throwIfAborted()
    return (await (await this.#db).getAll('backups')).filter(r => r.cafe === cafe)
  }

  /**
   * Uploads again what a cafe lost of these DAGs (a check found blocks missing, or the cafe
   * said so): each backup there is queued as a pin job, which asks have/want and sends only
   * the missing blocks. Returns how many were queued.
   */
  async repair (cafe: string, cids: string[], why: { reason: string, details: string }): Promise<number> {
    const db = await this.#db
    const tx = db.transaction(['jobs', 'backups'], 'readwrite')
    const queued: BackupRecord[] = []
    for (const cid of new Set(cids)) {
      const r = await tx.objectStore('backups').get([cid, cafe])
      if (r == null || (r.status !== 'pinned' && r.status !== 'failed')) continue
      const next: BackupRecord = { ...r, status: 'queued', error: why, updated: new Date(this.#now()).toISOString() }
      await tx.objectStore('backups').put(next)
      await tx.objectStore('jobs').add({ cafe, kind: 'pin', target: cid, attempts: 0, notBefore: 0 })
      queued.push(next)
    }
    await tx.done
    for (const r of queued) this.#progress(r)
    if (queued.length > 0) { this.#outbox.kick(cafe); this.dispatchEvent(new Event('change')) }
    return queued.length
  }

  stop (): void {
    this.#client.removeEventListener('change', this.#onSessions)
    this.#outbox.stop()
  }

  async #cafes (): Promise<string[]> {
    const cafes = (await this.#client.list()).filter(s => s.ended == null).map(s => s.id)
    if (cafes.length === 0) throw new LightcafeError('NO_CAFES', 'register with a cafe first: backups go to every cafe this account is registered with', 409)
    return cafes
  }

  /** Backs a local DAG up on every registered cafe. The whole DAG must be on this device. */
  async backup (cidText: string, options: AbortOptions = {}): Promise<{ cid: string, cafes: Array<{ id: string, status: BackupState }> }> {
    const cid = parseCid(cidText)
    const { missing, blocks } = await walkDag(cid, async c => { options.signal?.throwIfAborted(); return this.#blocks.get(c) }, { ahead: READ_AHEAD })
    const size = blocks.reduce((n, b) => n + b.bytes, 0)
    if (missing.length > 0) throw new NotFoundError('DAG_NOT_LOCAL', `${missing.length} block(s) of ${cid.toString()} are not on this device (e.g. ${missing[0]})`)
    const cafes = await this.#cafes()
    const db = await this.#db
    // The caller gave up: nothing is queued.
    options.signal?.throwIfAborted()
    const tx = db.transaction(['jobs', 'backups', 'dags'], 'readwrite')
    const now = new Date(this.#now()).toISOString()
    const queued: BackupRecord[] = []
    await tx.objectStore('dags').put({ cid: cid.toString(), blocks, bytes: size })
    for (const cafe of cafes) {
      const held = await tx.objectStore('backups').get([cid.toString(), cafe])
      if (held?.status === 'pinned' || held?.status === 'queued' || held?.status === 'pinning') continue
      const record: BackupRecord = { cid: cid.toString(), cafe, status: 'queued', updated: now, size }
      queued.push(record)
      await tx.objectStore('backups').put(record)
      await tx.objectStore('jobs').add({ cafe, kind: 'pin', target: cid.toString(), attempts: 0, notBefore: 0 })
    }
    await tx.done
    for (const r of queued) this.#progress(r)
    for (const cafe of cafes) this.#outbox.kick(cafe)
    return this.status(cid.toString())
  }

  /** Unpins a DAG on every cafe that has it; its records go when each cafe confirmed. */
  async unpin (cidText: string, options: AbortOptions = {}): Promise<{ cid: string, cafes: Array<{ id: string, status: BackupState }> }> {
    const cid = parseCid(cidText).toString()
    const db = await this.#db
    options.signal?.throwIfAborted()
    const tx = db.transaction(['jobs', 'backups'], 'readwrite')
    const rows = await tx.objectStore('backups').index('cid').getAll(cid)
    if (rows.length === 0) { await tx.done; throw new NotFoundError('BACKUP_NOT_FOUND', `no backup of ${cid}`) }
    for (const [i, b] of rows.entries()) {
      rows[i] = { ...b, status: 'unpinning', updated: new Date(this.#now()).toISOString() }
      await tx.objectStore('backups').put(rows[i])
      await tx.objectStore('jobs').add({ cafe: b.cafe, kind: 'unpin', target: cid, ...(b.requestid != null ? { requestid: b.requestid } : {}), attempts: 0, notBefore: 0 })
    }
    await tx.done
    for (const b of rows) this.#progress(b)
    for (const b of rows) this.#outbox.kick(b.cafe)
    return this.status(cid)
  }

  /** Sends a thread's (new) snapshot to every registered cafe; returns how many. */
  async snapshot (threadId: string, options: AbortOptions = {}): Promise<number> {
    const cafes = await this.#cafes()
    const db = await this.#db
    options.signal?.throwIfAborted()
    const tx = db.transaction('jobs', 'readwrite')
    for (const cafe of cafes) await tx.store.add({ cafe, kind: 'snapshot', target: threadId, attempts: 0, notBefore: 0 })
    await tx.done
    for (const cafe of cafes) this.#outbox.kick(cafe)
    return cafes.length
  }

  /** Tells `onProgress` of every change to any backup (state, bytes sent, removal) until `signal` aborts. */
  watch (options: BackupProgressOptions): void {
    if (options.signal?.aborted === true) return
    const listener = options.onProgress
    this.#watchers.add(listener)
    options.signal?.addEventListener('abort', () => { this.#watchers.delete(listener) }, { once: true })
  }

  #emit (event: BackupProgressEvent): void {
    // A watcher that throws is its own problem: the queue goes on.
    for (const w of this.#watchers) try { w(event) } catch {}
  }

  #progress (r: BackupRecord): void {
    if (this.#watchers.size > 0) this.#emit({ type: 'backup:progress', detail: { cid: r.cid, cafe: this.#view(r) } })
  }

  async status (cid: string, options: AbortOptions = {}): Promise<{ cid: string, cafes: BackupView[] }> {
    options.signal?.throwIfAborted()
    const rows = await (await this.#db).getAllFromIndex('backups', 'cid', parseCid(cid).toString())
    if (rows.length === 0) throw new NotFoundError('BACKUP_NOT_FOUND', `no backup of ${cid}`)
    return { cid, cafes: rows.map(r => this.#view(r)) }
  }

  #view (r: BackupRecord): BackupView {
    const key = `${r.cid}|${r.cafe}`
    const sent = this.#sent.get(key)
    const uploaded = (r.uploaded ?? 0) + (this.#uploading.get(key) ?? 0)
    return { id: r.cafe, status: r.status, ...(r.error != null ? { error: r.error } : {}), ...(sent != null ? { sent } : {}), ...(r.size != null ? { size: r.size } : {}), ...(uploaded > 0 ? { uploaded } : {}) }
  }

  async list (options: AbortOptions = {}): Promise<Array<{ cid: string, cafes: BackupView[] }>> {
    options.signal?.throwIfAborted()
    const byCid = new Map<string, BackupRecord[]>()
    for (const r of await (await this.#db).getAll('backups')) byCid.set(r.cid, [...(byCid.get(r.cid) ?? []), r])
    return [...byCid].map(([cid, rows]) => ({ cid, cafes: rows.map(r => this.#view(r)) }))
  }

  /** Jobs still waiting, per cafe (diagnostics, and the views' "n pending"). */
  async pending (options: AbortOptions = {}): Promise<Record<string, number>> {
    return this.#outbox.pending(options)
  }

  /** One attempt at a job: an error worth retrying leaves it queued, anything else is final. */
  async #attempt (job: Job): Promise<JobOutcome> {
    try {
      await this.#perform(job)
      return { state: 'done' }
    } catch (err) {
      return { state: transient(err, job.attempts) ? 'retry' : 'failed', error: err }
    }
  }

  /** The backup record after an attempt's outcome is stored. */
  async #settled (job: Job, outcome: JobOutcome): Promise<void> {
    if (outcome.state === 'done') return
    const err = outcome.error as LightcafeError
    if (outcome.state === 'retry') {
      await this.#record(job, r => ({ ...r, status: job.kind === 'unpin' || r.status === 'unpinning' ? 'unpinning' : 'queued', error: { reason: err.reason ?? 'UNREACHABLE', details: `will retry: ${err.message}` } }))
    } else {
      // A final answer (quota, forged data, session ended): recorded, and the queue moves on.
      // A pin that failed while an unpin waits stays "unpinning": that job removes the record.
      await this.#record(job, r => ({ ...r, status: job.kind === 'pin' && r.status === 'unpinning' ? 'unpinning' : 'failed', error: { reason: err.reason, details: err.message } }))
    }
  }

  async #record (job: Job, patch: (r: BackupRecord) => BackupRecord | undefined): Promise<void> {
    if (job.kind === 'snapshot') return
    const db = await this.#db
    const tx = db.transaction('backups', 'readwrite')
    const r = await tx.store.get([job.target, job.cafe])
    let next: BackupRecord | undefined
    if (r != null) {
      next = patch(r)
      if (next == null) await tx.store.delete([job.target, job.cafe])
      else await tx.store.put(next = { ...next, updated: new Date(this.#now()).toISOString() })
    }
    await tx.done
    if (next != null) this.#progress(next)
    else if (r != null) this.#emit({ type: 'backup:removed', detail: { cid: job.target, id: job.cafe } })
  }

  /** This device's pins of a DAG at a cafe (by its name tag). */
  async #pinsOf (cafe: string, cid: string, status: BackupState[]): Promise<Array<{ requestid: string }>> {
    return (await this.#client.api(cafe).pins({ cid: [cid], status, name: await this.#device(), match: 'exact' })).results
  }

  async #backupOf (job: Job): Promise<BackupRecord | undefined> {
    return (await this.#db).get('backups', [job.target, job.cafe])
  }

  async #perform (job: Job): Promise<void> {
    if (job.kind === 'snapshot') {
      const { id, ciphertext } = await this.#snapshotOf(job.target)
      await this.#client.api(job.cafe).putSnapshot(id, ciphertext)
      return
    }
    if (job.kind === 'unpin') {
      // Only this device's pin: the one named when the unpin was queued, or the one the backup
      // before it recorded, or (an answer lost) those carrying this device's tag. Never every
      // pin of the CID: other devices of the account keep theirs.
      const known = job.requestid ?? (await this.#backupOf(job))?.requestid
      const ids = known != null ? [known] : (await this.#pinsOf(job.cafe, job.target, ['queued', 'pinning', 'pinned', 'failed'])).map(p => p.requestid)
      for (const id of ids) await this.#client.api(job.cafe).unpin(id)
      // A backup queued since (status queued again) keeps its record: its pin job comes next.
      await this.#record(job, r => r.status === 'unpinning' ? undefined : r)
      return
    }
    // Unpinned before this job ran: nothing to send; the unpin job after it removes the record.
    if ((await this.#backupOf(job))?.status === 'unpinning') return
    await this.#record(job, r => r.status === 'unpinning' ? r : { ...r, status: 'pinning' })
    this.dispatchEvent(new Event('change'))
    // Already pinned there (an earlier upload whose answer was lost)? Then nothing to send.
    const existing = await this.#pinsOf(job.cafe, job.target, ['pinned'])
    try {
      await this.#pinned(job, existing[0]?.requestid ?? await this.#upload(job))
    } finally {
      // The bar's bytes stay shown until the record says pinned: it never drops back to 0.
      this.#sent.delete(`${job.target}|${job.cafe}`)
    }
  }

  /** A DAG's blocks: as recorded when it was backed up, or walked now (a backup from before they were recorded). */
  async dagOf (cid: string): Promise<DagRecord> {
    const db = await this.#db
    const held = await db.get('dags', cid)
    if (held != null) return held
    const { missing, blocks } = await walkDag(parseCid(cid), async c => this.#blocks.get(c), { ahead: READ_AHEAD })
    if (missing.length > 0) throw new NotFoundError('DAG_NOT_LOCAL', `${missing.length} block(s) of ${cid} are not on this device (e.g. ${missing[0]})`)
    const record = { cid, blocks, bytes: blocks.reduce((n, b) => n + b.bytes, 0) }
    await db.put('dags', record)
    return record
  }

  /**
   * Uploads what the cafe lacks of the DAG: have/want first (a cut upload, a repair or another
   * device's earlier upload left some there), then a CAR of the rest. Returns the pin's requestid.
   */
  async #upload (job: Job): Promise<string> {
    const key = `${job.target}|${job.cafe}`
    const dag = await this.dagOf(job.target)
    const api = this.#client.api(job.cafe)
    const wanted = await wantedBlocks(async cids => api.missing(cids), dag.blocks)
    const send = wanted == null ? dag.blocks : dag.blocks.filter(b => wanted.has(b.cid))
    // Progress starts at what the cafe holds already: a resumed upload's bar does not drop back.
    this.#sent.set(key, dag.bytes - send.reduce((n, b) => n + b.bytes, 0))
    this.#uploading.set(key, 0)
    const sent = this.#sent
    const uploading = this.#uploading
    // Each chunk's bytes are progress for the watchers (the page's bar), on the record as it stands.
    const record = await this.#backupOf(job)
    const told = (): void => { if (record != null) this.#progress(record) }
    const car = exportBlocksCar([parseCid(job.target)], readBlocks(send.map(b => b.cid), async c => this.#blocks.get(c)))
    async function * counted (): AsyncGenerator<Uint8Array> {
      for await (const chunk of car) {
        sent.set(key, (sent.get(key) ?? 0) + chunk.byteLength)
        uploading.set(key, (uploading.get(key) ?? 0) + chunk.byteLength)
        told()
        yield chunk
      }
    }
    const pin = { name: await this.#device(), meta: await this.#metaOf(job.target) }
    try {
      return (await api.upload(streamFromIterator(counted()), pin, { timeoutMs: OUTBOX_TIMING.uploadTimeoutMs })).requestid
    } finally {
      // What this attempt really sent is kept with the backup.
      const n = uploading.get(key) ?? 0
      uploading.delete(key)
      await this.#record(job, r => ({ ...r, uploaded: (r.uploaded ?? 0) + n }))
    }
  }

  async #pinned (job: Job, requestid: string): Promise<void> {
    // An unpin queued meanwhile keeps "unpinning"; it deletes this requestid next.
    await this.#record(job, r => { const n: BackupRecord = { ...r, status: r.status === 'unpinning' ? 'unpinning' : 'pinned', requestid }; delete n.error; return n })
  }
}
