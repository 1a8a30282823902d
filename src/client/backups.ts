import { TypedEventEmitter } from 'main-event'
import { parseCid } from '../ipfs/cid.ts'
import { READ_AHEAD, walkDag } from '../ipfs/dag.ts'
import { LightcafeError, NotFoundError } from '../shared/errors.ts'
import { JOBS } from './backups/jobs.ts'
import { OUTBOX_TIMING, openBackupsDb, transient } from './backups/model.ts'
import { reconcile } from './backups/reconcile.ts'
import { Outbox } from './outbox.ts'
import type { JobComponents } from './backups/jobs.ts'
import type { BackupProgressEvent, BackupProgressOptions, BackupRecord, BackupState, BackupView, DagRecord, Job, OutboxDB, OutboxInit } from './backups/model.ts'
import type { CafeClient } from './cafe-client.ts'
import type { JobOutcome } from './outbox.ts'
import type { Blocks } from '../ipfs/blocks.ts'
import type { AbortOptions } from '@libp2p/interface'
import type { IDBPDatabase } from 'idb'

export { OUTBOX_TIMING } from './backups/model.ts'
export type { BackupProgressEvent, BackupProgressOptions, BackupRecord, BackupState, BackupView, DagRecord, OutboxInit } from './backups/model.ts'

/** What the outbox tells: its list of backups or their states changed. */
export interface BackupOutboxEvents { change: CustomEvent<void> }

/**
 * The backup outbox: pins and snapshots to send to each cafe, kept in IndexedDB so nothing is
 * lost on a reload or crash, retried with backoff while a cafe is unreachable, in order per
 * cafe. Each backup's state per cafe is visible (queued, pinning, pinned, failed with the reason).
 */
export class BackupOutbox extends TypedEventEmitter<BackupOutboxEvents> {
  readonly #client: CafeClient
  readonly #blocks: Blocks
  readonly #db: Promise<IDBPDatabase<OutboxDB>>
  readonly #threadIds: () => Promise<string[]>
  readonly #now: () => number
  /** The `jobs` store as a queue per cafe, one job at a time, retried with backoff. */
  readonly #outbox: Outbox<Job>
  /** How far the current upload per `cid|cafe` got (held there already, then sent): progress for the views. */
  readonly #sent = new Map<string, number>()
  /** Bytes the current upload per `cid|cafe` really sent. */
  readonly #uploading = new Map<string, number>()
  readonly #watchers = new Set<(event: BackupProgressEvent) => void>()
  /** What each job's handler (backups/jobs.ts) is given. */
  readonly #jobs: JobComponents

  constructor (init: OutboxInit) {
    super()
    this.#client = init.client
    this.#blocks = init.blocks
    this.#threadIds = init.threadIds ?? (async () => [])
    this.#now = init.now ?? Date.now
    this.#db = openBackupsDb(init.dbName)
    this.#outbox = new Outbox<Job>({
      db: this.#db,
      store: 'jobs',
      keyIndex: 'cafe',
      keyOf: job => job.cafe,
      idOf: job => job.seq!,
      run: async ([job]) => [await this.#attempt(job)],
      settled: async ([job], [outcome]) => { await this.#settled(job, outcome); this.safeDispatchEvent('change') },
      retry: { firstMs: OUTBOX_TIMING.firstRetryMs, maxMs: OUTBOX_TIMING.maxRetryMs },
      wake: init.wake,
      now: this.#now
    })
    this.#jobs = {
      client: this.#client,
      blocks: this.#blocks,
      db: this.#db,
      metaOf: init.metaOf,
      snapshotOf: init.snapshotOf,
      device: async () => this.#device(),
      dagOf: async cid => this.dagOf(cid),
      sent: this.#sent,
      uploading: this.#uploading,
      record: async (job, patch) => { await this.#record(job, patch) },
      progress: r => { this.#progress(r) },
      changed: () => { this.safeDispatchEvent('change') }
    }
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
    const done = await reconcile(await this.#db, await this.#client.list(), await this.#threadIds(), new Date(this.#now()).toISOString())
    for (const r of done.queued) this.#progress(r)
    for (const r of done.removed) this.#emit({ type: 'backup:removed', detail: { cid: r.cid, id: r.cafe } })
    for (const cafe of done.kicked) this.#outbox.kick(cafe)
    if (done.queued.length > 0 || done.gone.length > 0) this.safeDispatchEvent('change')
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
    if (queued.length > 0) { this.#outbox.kick(cafe); this.safeDispatchEvent('change') }
    return queued.length
  }

  stop (): void {
    this.#client.removeEventListener('change', this.#onSessions)
    this.#outbox.stop()
  }

  async #cafes (): Promise<string[]> {
    const cafes = (await this.#client.list()).filter(s => s.ended == null).map(s => s.id)
    if (cafes.length === 0) throw new LightcafeError('NO_CAFES', 'register with a cafe first: backups go to every cafe this account is registered with')
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
      await JOBS[job.kind](this.#jobs, job)
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
}
