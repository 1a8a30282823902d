import { Key } from 'interface-datastore'
import type { Batch, Datastore } from 'interface-datastore'

/**
 * JSON records in an interface-datastore (datastore-idb in the browser, datastore-level in
 * Node, datastore-core's memory store in tests). Each store keeps its records under its own
 * namespace and rebuilds its indexes in memory when it opens: the process is the only writer,
 * so nothing but records is ever written, and a kill -9 cannot leave an index out of step.
 */
export class Records<T> {
  readonly #ds: Datastore
  readonly #prefix: string

  constructor (ds: Datastore, namespace: string) {
    this.#ds = ds
    this.#prefix = `/${namespace}/`
  }

  /** The key of a record named by `parts` (each escaped: names chosen by clients may hold '/'). */
  key (...parts: Array<string | number>): Key {
    return new Key(this.#prefix + parts.map(p => encodeURIComponent(String(p))).join('/'), false)
  }

  /** The parts of a key made by `key`. */
  parts (key: Key): string[] {
    return key.toString().slice(this.#prefix.length).split('/').map(p => decodeURIComponent(p))
  }

  async get (key: Key): Promise<T | undefined> {
    try {
      return decode<T>(await this.#ds.get(key))
    } catch (err) {
      if ((err as Error).name === 'NotFoundError') return undefined
      throw err
    }
  }

  async put (key: Key, value: T): Promise<void> { await this.#ds.put(key, encode(value)) }
  async delete (key: Key): Promise<void> { await this.#ds.delete(key) }

  /** Every record of this namespace (or of its part named by `parts`), in no particular order. */
  async * all (...parts: string[]): AsyncGenerator<{ key: Key, value: T }> {
    const prefix = parts.length === 0 ? this.#prefix : `${this.key(...parts).toString()}/`
    for await (const { key, value } of this.#ds.query({ prefix })) yield { key, value: decode<T>(value) }
  }

  /** Writes that must land together or not at all (one LevelDB batch, one IndexedDB transaction). */
  batch (): RecordBatch<T> { return new RecordBatch<T>(this.#ds.batch()) }
}

export class RecordBatch<T> {
  readonly #batch: Batch
  #empty = true
  constructor (batch: Batch) { this.#batch = batch }
  put (key: Key, value: T): this { this.#batch.put(key, encode(value)); this.#empty = false; return this }
  delete (key: Key): this { this.#batch.delete(key); this.#empty = false; return this }
  async commit (): Promise<void> { if (!this.#empty) await this.#batch.commit() }
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const encode = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value))
const decode = <T>(bytes: Uint8Array): T => JSON.parse(decoder.decode(bytes)) as T

/**
 * Runs read-check-write steps one at a time, in call order: what a transaction gives the
 * IndexedDB stores (a revoke cannot land between a registration's check and its write).
 */
export class Serial {
  #tail: Promise<unknown> = Promise.resolve()
  async run<T> (step: () => Promise<T>): Promise<T> {
    const next = this.#tail.then(step, step)
    this.#tail = next.catch(() => {})
    return next
  }
}
