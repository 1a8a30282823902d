import { parseCid } from '../ipfs/cid.ts'
import { BlockWriter } from '../ipfs/block-writer.ts'
import { ArrivingDag, READ_AHEAD, walkDag } from '../ipfs/dag.ts'
import { openCar } from '../ipfs/verify.ts'
import { LightcafeError } from '../shared/errors.ts'
import { boundedChunks } from '../shared/streams.ts'
import type { CafeApi } from './cafe-api.ts'
import type { CafeClient } from './cafe-client.ts'
import type { Files } from './files.ts'
import type { Threads } from './threads.ts'
import type { Blocks } from '../ipfs/blocks.ts'
import type { CID } from 'multiformats/cid'

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
  /** Blocks the cafe did not send (it lost them), and where each one came from instead: this account's other cafes. */
  missing: number
  elsewhere: Array<{ cafe: string, blocks: number }>
  error?: { reason: string, details: string }
}

/** A recovery's progress as Helia reports it (`ProgressEvent`): a type, and what stands now (a copy). */
export interface RecoveryProgressEvent { type: 'recovery:progress', detail: RecoveryProgress }

/** Options of a recovery, as Helia's `ProgressOptions`: told of each step. */
export interface RecoverOptions { onProgress?: (event: RecoveryProgressEvent) => void }

/** A recovery from `cafe` that has just started. */
export function newRecoveryProgress (cafe: string, now = new Date()): RecoveryProgress {
  return { cafe, state: 'running', started: now.toISOString(), snapshots: 0, threads: [], dags: 0, dagsDone: 0, files: 0, blocks: 0, bytes: 0, totalBytes: 0, missing: 0, elsewhere: [] }
}

export const RECOVERY_LIMITS = {
  /** A DAG's CAR is its blocks plus a CID and a varint per block: twice the blocks' bytes plus this covers any real one. */
  carSlackBytes: 1024 * 1024,
  /** A root the cafe gave no size for (a thread's HEAD): the largest file this device adds, twice. */
  maxUnknownDagBytes: 4 * 1024 * 1024 * 1024
} as const

/** A recovery's calls may take long (a CAR of gigabytes): each is bounded by this instead of the default. */
const LONG = { timeoutMs: 30 * 60_000 }

export interface RecoveryDeps {
  client: CafeClient
  threads: Threads
  files: Files
  blocks: Blocks
  /** Told the DAGs recovered whole: this device takes them on as its own backups (checked, repaired, backfilled from now on). */
  adopt?: (roots: string[]) => Promise<void>
}

/** One recovery as it runs: where it is from, where it stands, and how the caller is told. */
interface Run { deps: RecoveryDeps, cafe: string, api: CafeApi, progress: RecoveryProgress, told: () => void }

/**
 * Recovery on a new device (account restored from its mnemonic, registered with the cafe), in
 * three phases: the snapshots decrypted into threads; this account's pins listed, their sealed
 * file records into the files index; then every backed-up DAG and thread HEAD fetched as a
 * CAR, each block verified against its CID before it is kept (what the cafe lost, from this
 * account's other cafes). Safe to run again: what is already here is skipped.
 */
export async function recover (deps: RecoveryDeps, cafe: string, options: RecoverOptions = {}): Promise<RecoveryProgress> {
  const progress = newRecoveryProgress(cafe)
  const told = (): void => { options.onProgress?.({ type: 'recovery:progress', detail: { ...progress, threads: [...progress.threads] } }) }
  const run: Run = { deps, cafe, api: deps.client.api(cafe), progress, told }
  told()
  try {
    const roots = await restoreThreads(run)
    const claimed = await listBackups(run, roots)
    progress.dags = roots.size
    told()
    await fetchAll(run, roots, claimed)
    // This device carries the backups on (the one that made them may be gone); failing here fails nothing recovered.
    await deps.adopt?.([...roots]).catch(() => {})
    progress.state = 'done'
  } catch (err) {
    const e = err instanceof LightcafeError ? err : new LightcafeError('RECOVERY_FAILED', (err as Error).message)
    progress.state = 'failed'
    progress.error = { reason: e.reason, details: e.message }
    throw e
  } finally {
    told()
  }
  return progress
}

/** Phase 1: each snapshot decrypted into its thread. Returns the threads' HEADs, the first DAGs to fetch. */
async function restoreThreads ({ deps, api, progress, told }: Run): Promise<Set<string>> {
  const snapshots = await api.snapshots(LONG)
  progress.snapshots = snapshots.length
  const roots = new Set<string>()
  for (const s of snapshots) {
    const { ciphertext } = await api.snapshot(s.id, LONG)
    const thread = await deps.threads.restore(ciphertext)
    progress.threads.push({ id: thread.id, head: thread.head })
    roots.add(thread.head)
    told()
  }
  return roots
}

/**
 * Phase 2: every pinned DAG of this account, and those the cafe lost blocks of (shown failed,
 * BLOCKS_LOST: still this account's backups), added to `roots`; their sealed file records
 * restored. Returns what the cafe says each DAG holds: its CAR may not be much larger.
 */
async function listBackups ({ deps, api, progress }: Run, roots: Set<string>): Promise<Map<string, number>> {
  const claimed = new Map<string, number>()
  for await (const p of api.allPins({ status: ['pinned', 'failed'] }, LONG)) {
    if (p.status !== 'pinned' && p.info?.reason !== 'BLOCKS_LOST') continue
    // Each pinned DAG counted once (a thread's HEAD is often one of them, already in roots).
    const bytes = Number(p.info?.bytes ?? 0) || 0
    if (!claimed.has(p.pin.cid)) progress.totalBytes += bytes
    claimed.set(p.pin.cid, Math.max(claimed.get(p.pin.cid) ?? 0, bytes))
    roots.add(p.pin.cid)
    const sealed = p.pin.meta?.lc
    if (sealed != null) {
      await deps.files.restoreSealed(sealed)
      progress.files++
    }
  }
  return claimed
}

/** Phase 3: every root's DAG made whole here, from the cafe and, for what it lost, this account's other cafes. */
async function fetchAll (run: Run, roots: Set<string>, claimed: Map<string, number>): Promise<void> {
  const { deps, cafe, progress, told } = run
  const others = (await deps.client.list()).filter(x => x.id !== cafe && x.ended == null).map(x => x.id)
  const missingOf = async (cid: CID): Promise<string[]> => (await walkDag(cid, async c => deps.blocks.get(c), { ahead: READ_AHEAD })).missing
  for (const root of roots) {
    const cid = parseCid(root)
    if ((await missingOf(cid)).length > 0) {
      const known = claimed.get(root)
      const maxBytes = known != null && known > 0 ? 2 * known + RECOVERY_LIMITS.carSlackBytes : RECOVERY_LIMITS.maxUnknownDagBytes
      // Every block it links to came: complete, nothing read back. Else those left out may be
      // here already (an earlier run): the walk over this device's blocks names what is missing.
      const { complete } = await fetchDag(deps, cafe, cid, maxBytes, progress, told)
      // Blocks the cafe did not send (it lost them): named, then fetched from this account's other cafes.
      let missing = complete ? [] : await missingOf(cid)
      if (missing.length > 0) progress.missing += missing.length
      for (const other of others) {
        if (missing.length === 0) break
        let got = 0
        for (const m of missing) got += (await fetchDag(deps, other, parseCid(m), maxBytes, progress, told).catch(() => ({ kept: 0 }))).kept
        if (got > 0) progress.elsewhere.push({ cafe: other, blocks: got })
        missing = await missingOf(cid)
      }
      if (missing.length > 0) {
        throw new LightcafeError('RECOVERY_INCOMPLETE', `cafe ${cafe} lacks ${missing.length} block(s) of ${root} (e.g. ${missing.slice(0, 3).join(', ')})${others.length > 0 ? `, and this account's other cafes (${others.join(', ')}) had not them either` : '; no other cafe of this account to take them from'}`)
      }
    }
    progress.dagsDone++
    told()
  }
}

/**
 * Fetches the DAG under `cid` from `cafe` as a CAR and keeps its blocks (verified, and only
 * those of that DAG: the root, then what kept blocks link to). A cafe that lost some sends the
 * rest (or, for a lost root, 404). Returns the blocks kept, and whether every block the DAG
 * links to came (else the caller walks what is here to know what is still missing).
 */
async function fetchDag (deps: RecoveryDeps, cafe: string, cid: CID, maxBytes: number, progress: RecoveryProgress, onProgress: () => void): Promise<{ kept: number, complete: boolean }> {
  const car = await deps.client.api(cafe).car(cid.toString(), LONG)
  if (car == null) return { kept: 0, complete: false }
  const dag = new ArrivingDag(cid)
  const { blocks } = await openCar(boundedChunks(car, { maxBytes, what: `the CAR of ${cid.toString()}` }))
  // Written behind the read, in batches; durable once flushed.
  const writer = new BlockWriter(deps.blocks)
  let kept = 0
  try {
    for await (const b of blocks) {
      if (!dag.take(b)) continue
      await writer.add(b)
      kept++
      progress.blocks++
      progress.bytes += b.bytes.byteLength
      onProgress()
    }
    await writer.flush()
  } finally {
    await writer.settle()
  }
  return { kept, complete: dag.complete }
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
