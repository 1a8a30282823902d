import { unixfs } from '@helia/unixfs'
import { openDB } from 'idb'
import { parseCid } from '../ipfs/cid.ts'
import { accountKeyMaterial, decryptBytes, decryptStream, encryptBytes, encryptStream } from '../account/index.ts'
import { fromBase64url, toBase64url, utf8 } from '../shared/bytes.ts'
import { LightcafeError, NotFoundError } from '../shared/errors.ts'
import { iterateStream, streamFromIterator } from '../shared/streams.ts'
import type { Account } from '../account/index.ts'
import type { Helia } from '@helia/interface'
import type { DBSchema, IDBPDatabase } from 'idb'

/** A single added file may be at most this large: bounds one request's use of the browser's storage. */
export const MAX_FILE_BYTES = 2 * 1024 ** 3

export interface FileRecord { cid: string, encrypted: boolean, bytes: number, added: string }

interface FilesDB extends DBSchema { files: { key: string, value: FileRecord } }

/**
 * This device's files in Helia (UnixFS over IndexedDB), encrypted with a key derived from
 * the account key unless asked otherwise. What was encrypted is recorded here, so reads
 * decrypt exactly those files.
 */
export class Files {
  readonly #fs: ReturnType<typeof unixfs>
  readonly #account: () => Account
  readonly #db: Promise<IDBPDatabase<FilesDB>>

  constructor (helia: Helia, account: () => Account, dbName: string) {
    this.#fs = unixfs(helia)
    this.#account = account
    this.#db = openDB<FilesDB>(dbName, 1, { upgrade (db, old) { if (old < 1) db.createObjectStore('files', { keyPath: 'cid' }) } })
  }

  /** Adds a stream of bytes; returns its CID and plaintext size. */
  async add (body: ReadableStream<Uint8Array> | null, options: { encrypt: boolean }): Promise<FileRecord> {
    let bytes = 0
    const counted = (body ?? new Blob([]).stream()).pipeThrough(new TransformStream<Uint8Array, Uint8Array>({
      transform (chunk, controller) {
        bytes += chunk.byteLength
        if (bytes > MAX_FILE_BYTES) throw new LightcafeError('FILE_TOO_LARGE', `files are limited to ${MAX_FILE_BYTES} bytes`)
        controller.enqueue(chunk)
      }
    }))
    const stored = options.encrypt ? encryptStream(await accountKeyMaterial(this.#account().secretKey), 'files', counted) : counted
    const cid = await this.#fs.addByteStream(iterateStream(stored))
    const record: FileRecord = { cid: cid.toString(), encrypted: options.encrypt, bytes, added: new Date().toISOString() }
    await (await this.#db).put('files', record)
    return record
  }

  /** The file's plaintext as a stream (decrypted when this device encrypted it). */
  async cat (cidText: string): Promise<{ record: FileRecord, body: ReadableStream<Uint8Array> }> {
    const cid = parseCid(cidText)
    const record = await (await this.#db).get('files', cid.toString())
    if (record == null) throw new NotFoundError('FILE_NOT_FOUND', `no file ${cid.toString()} on this device`)
    const raw = streamFromIterator(this.#fs.cat(cid, { offline: true })[Symbol.asyncIterator]())
    const body = record.encrypted ? decryptStream(await accountKeyMaterial(this.#account().secretKey), 'files', raw) : raw
    return { record, body }
  }

  async get (cid: string): Promise<FileRecord | undefined> { return (await this.#db).get('files', cid) }

  /**
   * The file's record encrypted with the account key, carried in a backup's pin metadata:
   * a new device learns which backed-up DAGs are its files (and which to decrypt), the cafe nothing.
   */
  async sealedRecord (cid: string): Promise<string | undefined> {
    const record = await this.get(cid)
    if (record == null) return undefined
    return toBase64url(await encryptBytes(await accountKeyMaterial(this.#account().secretKey), 'records', utf8.encode(JSON.stringify(record))))
  }

  /** Restores a record sealed by this account (recovery); throws DECRYPTION_FAILED for anyone else's. */
  async restoreSealed (sealed: string): Promise<FileRecord> {
    const plain = await decryptBytes(await accountKeyMaterial(this.#account().secretKey), 'records', fromBase64url(sealed))
    const r = JSON.parse(utf8.decode(plain)) as FileRecord
    const record: FileRecord = { cid: parseCid(r.cid).toString(), encrypted: r.encrypted === true, bytes: Number(r.bytes), added: String(r.added) }
    await (await this.#db).put('files', record)
    return record
  }

  async close (): Promise<void> { (await this.#db).close() }
}
