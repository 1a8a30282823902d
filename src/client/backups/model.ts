import { openDB } from 'idb'
import { randomBytes, toBase64url } from '../../shared/bytes.ts'
import { LightcafeError } from '../../shared/errors.ts'
import type { CafeClient } from '../cafe-client.ts'
import type { Blocks } from '../../ipfs/blocks.ts'
import type { BlockRef } from '../../ipfs/verify.ts'
import type { Wake } from '../../shared/wake.ts'
import type { AbortOptions } from '@libp2p/interface'
import type { DBSchema, IDBPDatabase } from 'idb'

// What the backup outbox keeps and is given: its records and jobs in IndexedDB, its views and events, its init.

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
export interface Job {
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

export interface OutboxDB extends DBSchema {
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
export function transient (err: unknown, attempts: number): boolean {
  if (!(err instanceof LightcafeError)) return true
  if (err.reason === 'DAG_INCOMPLETE') return attempts < 3
  return err.status >= 500 || err.status === 408 || err.status === 429
}

/** The outbox's database: its jobs, each backup's record per cafe, this device's tag, DAGs' blocks, cafes seen. */
export async function openBackupsDb (name: string): Promise<IDBPDatabase<OutboxDB>> {
  return openDB<OutboxDB>(name, 4, {
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
}
