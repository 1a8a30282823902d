import { exportBlocksCar } from '../../ipfs/car.ts'
import { parseCid } from '../../ipfs/cid.ts'
import { streamFromIterator } from '../../shared/streams.ts'
import { readBlocks, wantedBlocks } from '../have-want.ts'
import { OUTBOX_TIMING } from './model.ts'
import type { BackupRecord, BackupState, DagRecord, Job, OutboxDB, OutboxInit } from './model.ts'
import type { CafeClient } from '../cafe-client.ts'
import type { Blocks } from '../../ipfs/blocks.ts'
import type { IDBPDatabase } from 'idb'

/** What the outbox's jobs share with it (its records, this device's tag, the progress the views read). */
export interface JobComponents {
  readonly client: CafeClient
  readonly blocks: Blocks
  readonly db: Promise<IDBPDatabase<OutboxDB>>
  readonly metaOf: OutboxInit['metaOf']
  readonly snapshotOf: OutboxInit['snapshotOf']
  /** The name this device's uploads carry (its pins among the account's). */
  device: () => Promise<string>
  /** A DAG's blocks, as recorded when it was backed up (or walked now). */
  dagOf: (cid: string) => Promise<DagRecord>
  /** How far the current upload per `cid|cafe` got (held there already, then sent): progress for the views. */
  readonly sent: Map<string, number>
  /** Bytes the current upload per `cid|cafe` really sent. */
  readonly uploading: Map<string, number>
  /** Changes the job's backup record (undefined: removes it) and tells the watchers. */
  record: (job: Job, patch: (r: BackupRecord) => BackupRecord | undefined) => Promise<void>
  /** Tells the watchers of a record as it stands (an upload's bytes). */
  progress: (r: BackupRecord) => void
  /** Tells the page a backup's state changed. */
  changed: () => void
}

/** One attempt at a job; throws what the cafe or the path said (the outbox decides on a retry). */
export type JobHandler = (c: JobComponents, job: Job) => Promise<void>

/** Sends a thread's current snapshot. */
const snapshot: JobHandler = async (c, job) => {
  const { id, ciphertext } = await c.snapshotOf(job.target)
  await c.client.api(job.cafe).putSnapshot(id, ciphertext)
}

/**
 * Unpins this device's pin only: the one named when the unpin was queued, or the one the backup
 * before it recorded, or (an answer lost) those carrying this device's tag. Never every pin of
 * the CID: other devices of the account keep theirs.
 */
const unpin: JobHandler = async (c, job) => {
  const known = job.requestid ?? (await backupOf(c, job))?.requestid
  const ids = known != null ? [known] : (await pinsOf(c, job, ['queued', 'pinning', 'pinned', 'failed'])).map(p => p.requestid)
  for (const id of ids) await c.client.api(job.cafe).unpin(id)
  // A backup queued since (status queued again) keeps its record: its pin job comes next.
  await c.record(job, r => r.status === 'unpinning' ? undefined : r)
}

/** Pins a DAG at a cafe: nothing to send if it is pinned there already, else what it lacks. */
const pin: JobHandler = async (c, job) => {
  // Unpinned before this job ran: nothing to send; the unpin job after it removes the record.
  if ((await backupOf(c, job))?.status === 'unpinning') return
  await c.record(job, r => r.status === 'unpinning' ? r : { ...r, status: 'pinning' })
  c.changed()
  // Already pinned there (an earlier upload whose answer was lost)? Then nothing to send.
  const existing = await pinsOf(c, job, ['pinned'])
  try {
    const requestid = existing[0]?.requestid ?? await upload(c, job)
    // An unpin queued meanwhile keeps "unpinning"; it deletes this requestid next.
    await c.record(job, r => { const n: BackupRecord = { ...r, status: r.status === 'unpinning' ? 'unpinning' : 'pinned', requestid }; delete n.error; return n })
  } finally {
    // The bar's bytes stay shown until the record says pinned: it never drops back to 0.
    c.sent.delete(`${job.target}|${job.cafe}`)
  }
}

/** Each kind of job and the one handler that does it. */
export const JOBS: Readonly<Record<Job['kind'], JobHandler>> = { pin, unpin, snapshot }

/** This device's pins of the job's DAG at its cafe (by its name tag). */
async function pinsOf (c: JobComponents, job: Job, status: BackupState[]): Promise<Array<{ requestid: string }>> {
  return (await c.client.api(job.cafe).pins({ cid: [job.target], status, name: await c.device(), match: 'exact' })).results
}

async function backupOf (c: JobComponents, job: Job): Promise<BackupRecord | undefined> {
  return (await c.db).get('backups', [job.target, job.cafe])
}

/**
 * Uploads what the cafe lacks of the DAG: have/want first (a cut upload, a repair or another
 * device's earlier upload left some there), then a CAR of the rest. Returns the pin's requestid.
 */
async function upload (c: JobComponents, job: Job): Promise<string> {
  const key = `${job.target}|${job.cafe}`
  const dag = await c.dagOf(job.target)
  const api = c.client.api(job.cafe)
  const wanted = await wantedBlocks(async cids => api.missing(cids), dag.blocks)
  const send = wanted == null ? dag.blocks : dag.blocks.filter(b => wanted.has(b.cid))
  // Progress starts at what the cafe holds already: a resumed upload's bar does not drop back.
  c.sent.set(key, dag.bytes - send.reduce((n, b) => n + b.bytes, 0))
  c.uploading.set(key, 0)
  // Each chunk's bytes are progress for the watchers (the page's bar), on the record as it stands.
  const record = await backupOf(c, job)
  const car = exportBlocksCar([parseCid(job.target)], readBlocks(send.map(b => b.cid), async cid => c.blocks.get(cid)))
  async function * counted (): AsyncGenerator<Uint8Array> {
    for await (const chunk of car) {
      c.sent.set(key, (c.sent.get(key) ?? 0) + chunk.byteLength)
      c.uploading.set(key, (c.uploading.get(key) ?? 0) + chunk.byteLength)
      if (record != null) c.progress(record)
      yield chunk
    }
  }
  const pin = { name: await c.device(), meta: await c.metaOf(job.target) }
  try {
    return (await api.upload(streamFromIterator(counted()), pin, { timeoutMs: OUTBOX_TIMING.uploadTimeoutMs })).requestid
  } finally {
    // What this attempt really sent is kept with the backup.
    const n = c.uploading.get(key) ?? 0
    c.uploading.delete(key)
    await c.record(job, r => ({ ...r, uploaded: (r.uploaded ?? 0) + n }))
  }
}
