import { parseCid } from '../ipfs/gateway.ts'
import { BlockWriter } from '../ipfs/block-writer.ts'
import { ArrivingDag, READ_AHEAD, walkDag } from '../ipfs/dag.ts'
import { openCar } from '../ipfs/verify.ts'
import { LightcafeError } from '../shared/errors.ts'
import { REMOTE_BODY_LIMITS, boundedChunks, readJson } from '../shared/streams.ts'
import { asError } from './cafe-client.ts'
import type { CafeClient } from './cafe-client.ts'
import type { Files } from './files.ts'
import type { Threads } from './threads.ts'
import type { Blocks } from '../ipfs/blocks.ts'

/** Where a recovery stands; the API shows it while it runs and after. */
export interface RecoveryProgress {
  cafe: string
  state: 'running' | 'done' | 'failed'
  started: string
  snapshots: number
  threads: Array<{ id: string, head: string }>
  /** Backed-up DAGs (pins) found at the cafe, and how many are now complete here. */
  dags: number
  dagsDone: number
  files: number
  blocks: number
  bytes: number
  /** Bytes the cafe says this account's pins hold (for a progress bar; blocks already here are not fetched again). */
  totalBytes: number
  error?: { reason: string, details: string }
}

/** A recovery's progress as Helia reports it (`ProgressEvent`): a type, and what stands now (a copy). */
export interface RecoveryProgressEvent { type: 'recovery:progress', detail: RecoveryProgress }

/** Options of a recovery, as Helia's `ProgressOptions`: told of each step. */
export interface RecoverOptions { onProgress?: (event: RecoveryProgressEvent) => void }

/** A recovery from `cafe` that has just started. */
export function newRecoveryProgress (cafe: string, now = new Date()): RecoveryProgress {
  return { cafe, state: 'running', started: now.toISOString(), snapshots: 0, threads: [], dags: 0, dagsDone: 0, files: 0, blocks: 0, bytes: 0, totalBytes: 0 }
}

export const RECOVERY_LIMITS = {
  /** A DAG's CAR is its blocks plus a CID and a varint per block: twice the blocks' bytes plus this covers any real one. */
  carSlackBytes: 1024 * 1024,
  /** A root the cafe gave no size for (a thread's HEAD): the largest file this device adds, twice. */
  maxUnknownDagBytes: 4 * 1024 * 1024 * 1024
} as const

export interface RecoveryDeps { client: CafeClient, threads: Threads, files: Files, blocks: Blocks }

async function json<T> (res: Response): Promise<T> {
  if (!res.ok) throw await asError(res)
  return await readJson(res, { maxBytes: REMOTE_BODY_LIMITS.pageBytes, what: 'the cafe\'s answer' }) as T
}

/**
 * Recovery on a new device (account restored from its mnemonic, registered with the cafe):
 * reads this account's snapshots and pins at the cafe, decrypts the snapshots into threads
 * and the sealed file records into the files index, and fetches every backed-up DAG and
 * thread HEAD as a CAR, each block verified against its CID before it is kept.
 * Safe to run again: what is already here is skipped.
 */
export async function recover (deps: RecoveryDeps, cafe: string, options: RecoverOptions = {}): Promise<RecoveryProgress> {
  const progress = newRecoveryProgress(cafe)
  const onProgress = (): void => { options.onProgress?.({ type: 'recovery:progress', detail: { ...progress, threads: [...progress.threads] } }) }
  const call = async (path: string): Promise<Response> => deps.client.request(cafe, path, {}, { timeoutMs: 30 * 60_000 })
  onProgress()
  try {
    const snapshots = await json<Array<{ id: string }>>(await call('/cafe/v1/snapshots'))
    progress.snapshots = snapshots.length
    const roots = new Set<string>()
    for (const s of snapshots) {
      const { ciphertext } = await json<{ ciphertext: string }>(await call(`/cafe/v1/snapshots/${s.id}`))
      const thread = await deps.threads.restore(ciphertext)
      progress.threads.push({ id: thread.id, head: thread.head })
      roots.add(thread.head)
      onProgress()
    }

    // Every pinned DAG of this account, newest first, paged by `before` as the spec says.
    let before: string | undefined
    const sized = new Set<string>()
    /** What the cafe says each DAG holds: its CAR may not be much larger. */
    const claimed = new Map<string, number>()
    for (;;) {
      const q = new URLSearchParams({ status: 'pinned', limit: '1000', ...(before != null ? { before } : {}) })
      const page = await json<{ count: number, results: Array<{ created: string, pin: { cid: string, meta?: Record<string, string> }, info?: Record<string, string> }> }>(await call(`/cafe/v1/pins?${q.toString()}`))
      for (const p of page.results) {
        // Each pinned DAG counted once (a thread's HEAD is often one of them, already in roots).
        const bytes = Number(p.info?.bytes ?? 0) || 0
        if (!sized.has(p.pin.cid)) progress.totalBytes += bytes
        claimed.set(p.pin.cid, Math.max(claimed.get(p.pin.cid) ?? 0, bytes))
        sized.add(p.pin.cid)
        roots.add(p.pin.cid)
        const sealed = p.pin.meta?.lc
        if (sealed != null) {
          await deps.files.restoreSealed(sealed)
          progress.files++
        }
      }
      if (page.results.length === 0 || page.count <= page.results.length) break
      before = page.results[page.results.length - 1].created
    }
    progress.dags = roots.size
    onProgress()

    for (const root of roots) {
      const cid = parseCid(root)
      const local = await walkDag(cid, async c => deps.blocks.get(c), { ahead: READ_AHEAD })
      if (local.missing.length > 0) {
        const res = await call(`/cafe/v1/ipfs/${cid.toString()}?format=car`)
        if (!res.ok || res.body == null) throw await asError(res)
        const known = claimed.get(root)
        const maxBytes = known != null && known > 0 ? 2 * known + RECOVERY_LIMITS.carSlackBytes : RECOVERY_LIMITS.maxUnknownDagBytes
        // Only blocks of the DAG asked for are kept: the root, then what kept blocks link to (the
        // cafe sends a DAG parents first). Anything else in the CAR is dropped unstored.
        const dag = new ArrivingDag(cid)
        const { blocks } = await openCar(boundedChunks(res.body, { maxBytes, what: `the CAR of ${root}` }))
        // Written behind the read, in batches; durable once flushed.
        const writer = new BlockWriter(deps.blocks)
        try {
          for await (const b of blocks) {
            if (!dag.take(b)) continue
            await writer.add(b)
            progress.blocks++
            progress.bytes += b.bytes.byteLength
            onProgress()
          }
          await writer.flush()
        } finally {
          await writer.settle()
        }
        // Every block it links to came: complete, nothing read back. Else those left out may be
        // here already (an earlier run): the walk over this device's blocks decides.
        if (!dag.complete) {
          const after = await walkDag(cid, async c => deps.blocks.get(c), { ahead: READ_AHEAD })
          if (after.missing.length > 0) throw new LightcafeError('RECOVERY_INCOMPLETE', `the cafe sent ${root} without ${after.missing.length} of its blocks`, 502)
        }
      }
      progress.dagsDone++
      onProgress()
    }
    progress.state = 'done'
  } catch (err) {
    const e = err instanceof LightcafeError ? err : new LightcafeError('RECOVERY_FAILED', (err as Error).message, 500)
    progress.state = 'failed'
    progress.error = { reason: e.reason, details: e.message }
    throw e
  } finally {
    onProgress()
  }
  return progress
}

/**
 * The recoveries of this page, one per cafe at a time: starting one while it runs joins it
 * (the caller is told of its progress from then on). Keeps where each one stands.
 */
export class Recoveries {
  readonly #deps: RecoveryDeps
  readonly #runs = new Map<string, { last: RecoveryProgress, listeners: Set<(event: RecoveryProgressEvent) => void>, done: Promise<RecoveryProgress> }>()

  constructor (deps: RecoveryDeps) { this.#deps = deps }

  async start (cafe: string, options: RecoverOptions = {}): Promise<RecoveryProgress> {
    const { onProgress } = options
    let run = this.#runs.get(cafe)
    if (run?.last.state !== 'running') {
      const listeners = new Set<(event: RecoveryProgressEvent) => void>()
      let last = newRecoveryProgress(cafe)
      const done = recover(this.#deps, cafe, { onProgress: e => { last = e.detail; for (const l of listeners) l(e) } })
      run = { get last () { return last }, listeners, done }
      this.#runs.set(cafe, run)
    }
    if (onProgress == null) return run.done
    run.listeners.add(onProgress)
    try { return await run.done } finally { run.listeners.delete(onProgress) }
  }

  /** Where the latest recovery from `cafe` stands, if one ran since the page loaded. */
  get (cafe: string): RecoveryProgress | undefined { return this.#runs.get(cafe)?.last }
}
