import { hkdf } from '@noble/hashes/hkdf.js'
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { openDB } from 'idb'
import { accountKeyMaterial, decryptBytes, encryptBytes } from '../account/index.ts'
import { parseCid } from '../ipfs/cid.ts'
import { fromBase64url, toBase64url, utf8 } from '../shared/bytes.ts'
import { InvalidInputError, LightcafeError, NotFoundError } from '../shared/errors.ts'
import type { Account } from '../account/index.ts'
import type { DBSchema, IDBPDatabase } from 'idb'

export const THREAD_LIMITS = {
  idPattern: /^[A-Za-z0-9._-]{1,128}$/,
  /** Thread metadata is a small JSON document; the snapshot (encrypted) must fit the cafe's 64 KiB. */
  maxMetaBytes: 32 * 1024
} as const

/**
 * A thread as this device knows it: its id, latest update (HEAD) and metadata. `seq` counts the
 * thread's updates (each put adds one to the highest seen): sealed into the snapshot, it tells
 * a new device a cafe's older snapshot from a newer one whatever the writers' clocks said.
 */
export interface ThreadRecord { id: string, head: string, meta: Record<string, unknown>, updated: string, seq?: number }

/** Which of two records of one thread is newer: the higher seq, then the later time (old snapshots have no seq). */
function newer (a: ThreadRecord, b: ThreadRecord): boolean {
  const sa = a.seq ?? 0
  const sb = b.seq ?? 0
  return sa !== sb ? sa > sb : a.updated > b.updated
}

interface ThreadsDB extends DBSchema { threads: { key: string, value: ThreadRecord } }

/**
 * Threads and their snapshots. A snapshot is the thread record encrypted with the account
 * key, stored at each cafe under an id that is a keyed hash of the thread id: the cafe learns
 * neither the thread's id nor its content, and the account alone finds and opens them again.
 */
export class Threads {
  readonly #db: Promise<IDBPDatabase<ThreadsDB>>
  readonly #account: () => Account
  readonly #now: () => number

  constructor (account: () => Account, dbName: string, now: () => number = Date.now) {
    this.#account = account
    this.#now = now
    this.#db = openDB<ThreadsDB>(dbName, 1, { upgrade (db, old) { if (old < 1) db.createObjectStore('threads', { keyPath: 'id' }) } })
  }

  /** Records a thread's HEAD and metadata (validated); returns the record. */
  async put (id: string, body: Record<string, unknown>): Promise<ThreadRecord> {
    if (!THREAD_LIMITS.idPattern.test(id)) throw new InvalidInputError('INVALID_THREAD_ID', 'thread ids are 1 to 128 letters, digits, dots, dashes or underscores')
    if (typeof body.head !== 'string') throw new InvalidInputError('INVALID_FIELD', 'head must be a CID')
    const head = parseCid(body.head).toString()
    const meta = body.meta ?? {}
    if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) throw new InvalidInputError('INVALID_FIELD', 'meta must be a JSON object')
    if (utf8.encode(JSON.stringify(meta)).byteLength > THREAD_LIMITS.maxMetaBytes) throw new LightcafeError('META_TOO_LARGE', `thread metadata is limited to ${THREAD_LIMITS.maxMetaBytes} bytes of JSON`, { as: 'tooLarge' })
    const tx = (await this.#db).transaction('threads', 'readwrite')
    const held = await tx.store.get(id)
    const record: ThreadRecord = { id, head, meta: meta as Record<string, unknown>, updated: new Date(this.#now()).toISOString(), seq: (held?.seq ?? 0) + 1 }
    await tx.store.put(record)
    await tx.done
    return record
  }

  async list (): Promise<ThreadRecord[]> { return (await this.#db).getAll('threads') }

  async get (id: string): Promise<ThreadRecord> {
    const r = await (await this.#db).get('threads', id)
    if (r == null) throw new NotFoundError('THREAD_NOT_FOUND', `no thread ${id.slice(0, 128)}`)
    return r
  }

  /** The id a thread's snapshot has at cafes: HMAC of the thread id under an account-derived key. */
  snapshotId (threadId: string): string {
    const key = hkdf(sha256, this.#account().secretKey, undefined, utf8.encode('lightcafe/snapshot-id/v1'), 32)
    return toBase64url(hmac(sha256, key, utf8.encode(threadId)).subarray(0, 16))
  }

  async seal (record: ThreadRecord): Promise<string> {
    const material = await accountKeyMaterial(this.#account().secretKey)
    // v2: the record carries `seq` (v1 snapshots have none and count as seq 0).
    return toBase64url(await encryptBytes(material, 'snapshots', utf8.encode(JSON.stringify({ ...record, v: 2 }))))
  }

  /** Opens a snapshot (throws DECRYPTION_FAILED if it is not this account's) and keeps it if newer. */
  async restore (ciphertext: string): Promise<ThreadRecord> {
    const material = await accountKeyMaterial(this.#account().secretKey)
    const plain = JSON.parse(utf8.decode(await decryptBytes(material, 'snapshots', fromBase64url(ciphertext)))) as ThreadRecord & { v: number }
    const record: ThreadRecord = { id: plain.id, head: parseCid(plain.head).toString(), meta: plain.meta, updated: plain.updated }
    if (Number.isSafeInteger(plain.seq) && plain.seq! > 0) record.seq = plain.seq
    const tx = (await this.#db).transaction('threads', 'readwrite')
    const held = await tx.store.get(record.id)
    const keep = held == null || newer(record, held)
    if (keep) await tx.store.put(record)
    await tx.done
    return keep ? record : held
  }

  async close (): Promise<void> { (await this.#db).close() }
}
