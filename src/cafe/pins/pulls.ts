import { verifiedCarBlocks } from '../../ipfs/verify.ts'
import { BodyTooLargeError } from '../../shared/streams.ts'
import { BodyIdleError } from './errors.ts'
import { abortable, capped, guarded } from './guarded.ts'
import { QuotaExceededError } from './ledger.ts'
import type { Ingest } from './ingest.ts'
import type { BlockRef } from './ledger.ts'
import type { CID } from 'multiformats/cid'
import type { AbortOptions } from '@libp2p/interface'

/** Where a pull may fetch a DAG: a connected peer (the caller) or the pin's origins. */
export interface PinSource { peer?: string, addrs: string[] }

/**
 * Fetches a CAR of the DAG under `root` from a source (the trustless gateway over libp2p in the
 * app). `maxBytes` is what this pull may legitimately bring; the service cuts a longer body
 * there itself, a fetcher should stop reading at it too.
 */
export type CarFetcher = (source: PinSource, root: CID, options: AbortOptions & { maxBytes?: number }) => Promise<AsyncIterable<Uint8Array>>

type Kind = 'upload' | 'pull'
interface Op { kind: Kind, abort: AbortController, done: Promise<unknown> }

/**
 * The work running for each client: uploads and pulls, counted per kind against the limit,
 * and pulls queued in order until the client has a free slot. A removal aborts and awaits
 * all of a client's work, so none of it can commit a pin afterwards.
 */
export class PinWork {
  readonly #running = new Map<string, Set<Op>>()
  readonly #pulls = new Map<string, AbortController>()
  /** Pulls waiting for a free slot, per client, in order. */
  readonly #waiting = new Map<string, Array<{ requestid: string, peer?: string }>>()
  readonly #maxActive: number
  readonly #pull: (requestid: string, peer: string | undefined, signal: AbortSignal) => Promise<void>
  readonly #exists: (requestid: string) => boolean

  constructor (init: { maxActive: number, pull: (requestid: string, peer: string | undefined, signal: AbortSignal) => Promise<void>, exists: (requestid: string) => boolean }) {
    this.#maxActive = init.maxActive
    this.#pull = init.pull
    this.#exists = init.exists
  }

  /** Runs an upload or pull in the client's running set (counted, abortable by a removal). */
  async track<T> (address: string, kind: Kind, abort: AbortController, work: () => Promise<T>): Promise<T> {
    const set = this.#running.get(address) ?? new Set()
    this.#running.set(address, set)
    const done = work()
    const op = { kind, abort, done }
    set.add(op)
    try {
      return await done
    } finally {
      set.delete(op)
      if (set.size === 0) this.#running.delete(address)
    }
  }

  active (address: string, kind: Kind): number {
    let n = 0
    for (const op of this.#running.get(address) ?? []) if (op.kind === kind) n++
    return n
  }

  /** Queues a pull of the client's pin; it starts when the client has a free slot. */
  schedule (address: string, requestid: string, peer?: string): void {
    if (this.#pulls.has(requestid)) return
    const queue = this.#waiting.get(address) ?? []
    if (!queue.some(q => q.requestid === requestid)) queue.push({ requestid, ...(peer != null ? { peer } : {}) })
    this.#waiting.set(address, queue)
    this.#pump(address)
  }

  #pump (address: string): void {
    const queue = this.#waiting.get(address) ?? []
    while (queue.length > 0 && this.active(address, 'pull') < this.#maxActive) {
      const { requestid, peer } = queue.shift()!
      if (!this.#exists(requestid) || this.#pulls.has(requestid)) continue
      const abort = new AbortController()
      this.#pulls.set(requestid, abort)
      this.track(address, 'pull', abort, async () => this.#pull(requestid, peer, abort.signal))
        .catch(() => {}) // recorded on the pin
        .finally(() => { this.#pulls.delete(requestid); this.#pump(address) })
    }
    if (queue.length === 0) this.#waiting.delete(address)
  }

  /** Ends a pin's pull, if one runs. */
  abortPull (requestid: string, reason: Error): void { this.#pulls.get(requestid)?.abort(reason) }

  /** Drops the client's queue, aborts all its work and waits for it to end. */
  async stopAll (address: string, reason: Error): Promise<void> {
    this.#waiting.delete(address)
    const running = [...(this.#running.get(address) ?? [])]
    for (const op of running) op.abort.abort(reason)
    await Promise.allSettled(running.map(async op => op.done))
  }
}

export interface PullInit {
  ingest: Ingest
  root: CID
  /** Tried in order until the DAG is whole. */
  sources: PinSource[]
  fetchCar?: CarFetcher
  signal: AbortSignal
  limits: { fetchTimeoutMs: number, idleMs: number }
  /** The client's quota now, and the bytes one source's CAR may bring. */
  budget: () => Promise<{ quota: number, maxBytes: number }>
}

/**
 * Fills the ingest from each source in turn while blocks are missing: each source's CAR is
 * bounded in time, idleness and bytes, and verified block by block. A source that fails is
 * passed over (the next may have the DAG); over quota, or the pull aborted, ends it.
 */
export async function pullMissing (init: PullInit): Promise<{ dag: { blocks: BlockRef[], missing: string[] }, lastError?: unknown }> {
  const { ingest, root, signal, limits } = init
  let dag = await ingest.walk(root)
  let lastError: unknown
  for (const source of init.sources) {
    if (dag.missing.length === 0 || init.fetchCar == null) break
    const one = AbortSignal.any([signal, AbortSignal.timeout(limits.fetchTimeoutMs)])
    let body: AsyncGenerator<Uint8Array> | undefined
    try {
      const { quota, maxBytes } = await init.budget()
      const fetched = init.fetchCar(source, root, { signal: one, maxBytes })
      // A body that arrives after the abort is closed, not left open.
      fetched.then(car => { if (one.aborted) void car[Symbol.asyncIterator]().return?.() }, () => {})
      body = guarded(await abortable(fetched, one), one, limits.idleMs, () => new BodyIdleError('PULL_IDLE', limits.idleMs))
      await ingest.take(verifiedCarBlocks(capped(body, maxBytes, () => new BodyTooLargeError(maxBytes, `the CAR of ${root.toString()}`))), quota)
    } catch (err) {
      if (err instanceof QuotaExceededError || signal.aborted) throw err
      lastError = err // this source failed; the next may have it
    } finally {
      await body?.return(undefined).catch(() => {})
    }
    dag = await ingest.walk(root)
  }
  return { dag, lastError }
}
