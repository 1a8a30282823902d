import { fromBase64url } from '../shared/bytes.ts'
import { InvalidInputError, LightcafeError, NotFoundError } from '../shared/errors.ts'

export const SNAPSHOT_LIMITS = {
  /** Snapshot ids are the client's opaque keys (a keyed hash of the thread id). */
  idPattern: /^[A-Za-z0-9_-]{1,64}$/,
  /** Metadata + HEAD encrypted: a few KiB; 64 KiB leaves room and bounds a stranger's cost. */
  maxCiphertextBytes: 64 * 1024,
  /** Snapshots one client may keep. */
  maxPerClient: 1000,
  /** JSON body of a put: the base64url ciphertext plus a little. */
  maxBodyBytes: 96 * 1024
} as const

/** What the cafe keeps: ciphertext it cannot read, under an id it cannot interpret. */
export interface SnapshotRecord { address: string, id: string, ciphertext: string, bytes: number, updated: string }

export interface SnapshotView { id: string, bytes: number, updated: string }

export interface SnapshotStore {
  get(address: string, id: string): Promise<SnapshotRecord | undefined>
  list(address: string): Promise<SnapshotRecord[]>
  /** Writes the snapshot unless the client would then hold more than `max`; false if refused. */
  put(record: SnapshotRecord, max: number): Promise<boolean>
  delete(address: string, id: string): Promise<boolean>
  deleteAll(address: string): Promise<void>
}

export class MemorySnapshotStore implements SnapshotStore {
  readonly #rows = new Map<string, SnapshotRecord>()
  async get (address: string, id: string): Promise<SnapshotRecord | undefined> { const r = this.#rows.get(`${address}|${id}`); return r == null ? undefined : { ...r } }
  async list (address: string): Promise<SnapshotRecord[]> { return [...this.#rows.values()].filter(r => r.address === address).map(r => ({ ...r })) }
  async put (record: SnapshotRecord, max: number): Promise<boolean> {
    const key = `${record.address}|${record.id}`
    if (!this.#rows.has(key) && (await this.list(record.address)).length >= max) return false
    this.#rows.set(key, { ...record })
    return true
  }

  async delete (address: string, id: string): Promise<boolean> { return this.#rows.delete(`${address}|${id}`) }
  async deleteAll (address: string): Promise<void> { for (const r of await this.list(address)) this.#rows.delete(`${address}|${r.id}`) }
}

function snapshotId (id: string): string {
  if (!SNAPSHOT_LIMITS.idPattern.test(id)) throw new InvalidInputError('INVALID_SNAPSHOT_ID', 'snapshot ids are 1 to 64 base64url characters')
  return id
}

/** Thread snapshots per client: put, list, get, delete. Ciphertext only, size-bounded. */
export class Snapshots {
  readonly #store: SnapshotStore
  readonly #now: () => number
  readonly #counts = new Map<string, number>()
  constructor (store: SnapshotStore, now: () => number = Date.now) { this.#store = store; this.#now = now }

  /** Keeps a client's snapshot (its body checked at the route: a non-empty string). */
  async put (address: string, id: string, snapshot: { ciphertext: string }): Promise<SnapshotView> {
    snapshotId(id)
    const { ciphertext } = snapshot
    let bytes: number
    try { bytes = fromBase64url(ciphertext).byteLength } catch { throw new InvalidInputError('INVALID_FIELD', 'ciphertext must be base64url') }
    if (bytes > SNAPSHOT_LIMITS.maxCiphertextBytes) throw new LightcafeError('SNAPSHOT_TOO_LARGE', `snapshots are limited to ${SNAPSHOT_LIMITS.maxCiphertextBytes} bytes`)
    const record: SnapshotRecord = { address, id, ciphertext, bytes, updated: new Date(this.#now()).toISOString() }
    if (!(await this.#store.put(record, SNAPSHOT_LIMITS.maxPerClient))) {
      throw new LightcafeError('TOO_MANY_SNAPSHOTS', `a client may keep at most ${SNAPSHOT_LIMITS.maxPerClient} snapshots`)
    }
    this.#counts.delete(address)
    return { id, bytes, updated: record.updated }
  }

  async list (address: string): Promise<SnapshotView[]> {
    const rows = await this.#store.list(address)
    this.#counts.set(address, rows.length)
    return rows.sort((a, b) => a.id.localeCompare(b.id)).map(({ id, bytes, updated }) => ({ id, bytes, updated }))
  }

  async get (address: string, id: string): Promise<SnapshotView & { ciphertext: string }> {
    const r = await this.#store.get(address, snapshotId(id))
    if (r == null) throw new NotFoundError('SNAPSHOT_NOT_FOUND', `no snapshot ${id}`)
    return { id: r.id, bytes: r.bytes, updated: r.updated, ciphertext: r.ciphertext }
  }

  async delete (address: string, id: string): Promise<void> {
    if (!(await this.#store.delete(address, snapshotId(id)))) throw new NotFoundError('SNAPSHOT_NOT_FOUND', `no snapshot ${id}`)
    this.#counts.delete(address)
  }

  async deleteAll (address: string): Promise<void> { await this.#store.deleteAll(address); this.#counts.delete(address) }

  /** How many snapshots a client keeps (cached between changes). */
  async count (address: string): Promise<number> {
    return this.#counts.get(address) ?? (await this.list(address)).length
  }
}
