import { backoff } from '../shared/backoff.ts'
import type { Backoff } from '../shared/backoff.ts'
import type { Wake } from '../shared/wake.ts'
import type { AbortOptions } from '@libp2p/interface'
import type { IDBPDatabase } from 'idb'

/** What every queued job carries: its place in the queue and its retry state (all persisted). */
export interface OutboxJob {
  /** Order within a key: lower runs first. */
  seq?: number
  /** Failed attempts so far. */
  attempts: number
  /** Not tried again before this time (ms since the epoch; 0 = now). */
  notBefore: number
  /** Why the last attempt failed, when the runner said. */
  lastError?: string
}

/** A job's state: waiting its turn, being tried now, or waiting out a backoff after a failure. */
export type OutboxState = 'queued' | 'running' | 'retrying'

/** What one attempt at a job came to: sent (it leaves the queue), failed for good (it leaves too), or to be retried after a backoff. */
export type JobOutcome = { state: 'done' } | { state: 'failed', error?: unknown } | { state: 'retry', error?: unknown }

export interface OutboxInit<J extends OutboxJob> {
  /** The database holding the queue (opened and upgraded by the owner: the queue has no schema of its own). */
  db: Promise<IDBPDatabase<any>>
  /** The object store of jobs; its primary key is whatever the owner chose. */
  store: string
  /** An index on the key, when the store has one (else the store is read whole and filtered). */
  keyIndex?: string
  /** Jobs with one key run one attempt at a time, in `seq` order; a key's head that must wait holds back the rest. */
  keyOf: (job: J) => string
  /** The primary key of a job, to delete or replace it. */
  idOf: (job: J) => IDBValidKey
  /** Tries the key's jobs that are due, oldest first (at most `batch` of them): one outcome per job, in order. */
  run: (jobs: J[], options: AbortOptions) => Promise<JobOutcome[]>
  /** After the outcomes are stored: for state the owner keeps beside the queue. */
  settled?: (jobs: J[], outcomes: JobOutcome[]) => Promise<void>
  /** The wait after failed attempt n (0 = the first). */
  retry: Backoff
  /** Due jobs given to one `run` (default 1). */
  batch?: number
  /** When it fires, every key waiting out a backoff is tried at once (the network or a peer came back). */
  wake?: Wake
  now?: () => number
}

/**
 * A persistent outbox: jobs in an IndexedDB store, run in order per key (a recipient, a cafe),
 * retried with backoff (`notBefore`) until they succeed or fail for good. Keys drain side by
 * side; a reload loses nothing (attempts, `notBefore` and the last error are in the job).
 */
export class Outbox<J extends OutboxJob> {
  readonly #init: OutboxInit<J>
  readonly #now: () => number
  readonly #running = new Set<string>()
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>()
  /** Keys woken while waiting or running: their next attempt does not wait for `notBefore`. */
  readonly #woken = new Set<string>()
  readonly #unwake: () => void
  #stopped = false

  constructor (init: OutboxInit<J>) {
    this.#init = init
    this.#now = init.now ?? Date.now
    this.#unwake = init.wake?.on(() => { this.wake() }) ?? (() => {})
  }

  /** Drains every key that has jobs (those left by an earlier run too). */
  async start (options: AbortOptions = {}): Promise<void> {
    for (const key of new Set((await this.#all(options)).map(this.#init.keyOf))) this.kick(key)
  }

  stop (): void {
    this.#stopped = true
    this.#unwake()
    for (const t of this.#timers.values()) clearTimeout(t)
    this.#timers.clear()
  }

  /**
   * Tries every key waiting out a backoff now, and a key mid-attempt again right after it,
   * without waiting for `notBefore` (once: a failure then backs off as before, from where its
   * attempts stood). For when what the jobs need may be back: the network, a peer.
   */
  wake (): void {
    if (this.#stopped) return
    for (const key of [...this.#timers.keys(), ...this.#running]) this.#woken.add(key)
    for (const key of [...this.#timers.keys()]) this.kick(key)
  }

  /** Adds a job at the end of its key's queue (its `seq`, if unset, is the store's to give) and drains that key. */
  async add (job: J, options: AbortOptions = {}): Promise<void> {
    options.signal?.throwIfAborted()
    await (await this.#init.db).put(this.#init.store, job)
    this.kick(this.#init.keyOf(job))
  }

  /** One key's jobs, oldest first. */
  async jobs (key: string, options: AbortOptions = {}): Promise<J[]> {
    options.signal?.throwIfAborted()
    const db = await this.#init.db
    const rows: J[] = this.#init.keyIndex != null
      ? await db.getAllFromIndex(this.#init.store, this.#init.keyIndex, key)
      : (await db.getAll(this.#init.store)).filter((j: J) => this.#init.keyOf(j) === key)
    return rows.sort(bySeq)
  }

  /** Every job with its state, oldest first. */
  async entries (options: AbortOptions = {}): Promise<Array<{ job: J, state: OutboxState }>> {
    return (await this.#all(options)).map(job => ({ job, state: this.#stateOf(job) }))
  }

  /** Jobs waiting, per key. */
  async pending (options: AbortOptions = {}): Promise<Record<string, number>> {
    const out: Record<string, number> = {}
    for (const j of await this.#all(options)) { const k = this.#init.keyOf(j); out[k] = (out[k] ?? 0) + 1 }
    return out
  }

  /** Starts draining a key now, unless it is draining already (then what was added is seen in turn). */
  kick (key: string): void {
    if (this.#stopped || this.#running.has(key)) return
    clearTimeout(this.#timers.get(key))
    this.#timers.delete(key)
    this.#running.add(key)
    this.#drain(key).catch(() => {}).finally(() => this.#running.delete(key))
  }

  #stateOf (job: J): OutboxState {
    if (job.attempts > 0 && job.notBefore > this.#now()) return 'retrying'
    return this.#running.has(this.#init.keyOf(job)) ? 'running' : 'queued'
  }

  async #all (options: AbortOptions): Promise<J[]> {
    options.signal?.throwIfAborted()
    return ((await (await this.#init.db).getAll(this.#init.store)) as J[]).sort(bySeq)
  }

  async #drain (key: string): Promise<void> {
    const batch = this.#init.batch ?? 1
    while (!this.#stopped) {
      const queue = await this.jobs(key)
      if (queue.length === 0) { this.#woken.delete(key); return }
      const woken = this.#woken.delete(key)
      const wait = woken ? 0 : queue[0].notBefore - this.#now()
      if (wait > 0) {
        this.#timers.set(key, setTimeout(() => { this.#timers.delete(key); this.kick(key) }, wait))
        return
      }
      // The due ones up to the first that must wait (woken: all are due): they go together, in order.
      const due: J[] = []
      for (const job of queue) {
        if (due.length >= batch || (!woken && job.notBefore > this.#now())) break
        due.push(job)
      }
      await this.settle(due, await this.#init.run(due, {}))
    }
  }

  /**
   * Stores attempts' outcomes in one transaction: done and failed jobs leave, the rest wait out
   * their backoff. The drain calls it; so does an owner that tried a key's head itself (a send
   * that wants its answer now).
   */
  async settle (jobs: J[], outcomes: JobOutcome[]): Promise<void> {
    const tx = (await this.#init.db).transaction(this.#init.store, 'readwrite')
    for (const [k, job] of jobs.entries()) {
      const o = outcomes[k] ?? { state: 'retry' }
      if (o.state !== 'retry') { await tx.store.delete(this.#init.idOf(job)); continue }
      const next: J = { ...job, attempts: job.attempts + 1, notBefore: this.#now() + backoff(job.attempts, this.#init.retry) }
      if (o.error != null) next.lastError = (o.error as Error).message ?? String(o.error)
      await tx.store.put(next)
    }
    await tx.done
    await this.#init.settled?.(jobs, outcomes)
  }
}

function bySeq (a: OutboxJob, b: OutboxJob): number { return (a.seq ?? 0) - (b.seq ?? 0) }
