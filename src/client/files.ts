import { unixfs } from '@helia/unixfs'
import { openDB } from 'idb'
import { CID } from 'multiformats/cid'
import { accountKeyMaterial, decryptStream, encryptStream } from '../account/index.ts'
import { InvalidInputError, LightcafeError, NotFoundError } from '../shared/errors.ts'
import { iterateStream, streamFromIterator } from '../shared/streams.ts'
import type { Account } from '../account/index.ts'
import type { Helia } from '@helia/interface'
import type { DBSchema, IDBPDatabase } from 'idb'

/** A single added file may be at most this large: bounds one request's use of the browser's storage. */
export const MAX_FILE_BYTES = 2 * 1024 ** 3

export interface FileRecord { cid: string, encrypted: boolean, bytes: number, added: string }

interface FilesDB extends DBSchema { files: { key: string, value: FileRecord } }

function parseCid (text: string): CID {
  try { return CID.parse(text) } catch { throw new InvalidInputError('INVALID_CID', `not a CID: ${text.slice(0, 100)}`) }
}

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
        if (bytes > MAX_FILE_BYTES) throw new LightcafeError('FILE_TOO_LARGE', `files are limited to ${MAX_FILE_BYTES} bytes`, 413)
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

  async close (): Promise<void> { (await this.#db).close() }
}
