import { IDBDatastore } from 'datastore-idb'
import { openDB } from 'idb'
import type { IDBPDatabase } from 'idb'
import type { Batch, Key } from 'interface-datastore'

/**
 * datastore-idb whose batches fail when they did not land. datastore-idb 5's `commit()` catches
 * any failed put, aborts the transaction and resolves: a caller (an inbox batch, a registration)
 * would then acknowledge records that were never stored. Here a batch is one transaction on a
 * second connection to the same database and object store (datastore-idb's layout: both named
 * by the location, keys as `Key.toString()`), and `commit()` resolves only once it completed.
 */
export class CafeIdbDatastore extends IDBDatastore {
  readonly #name: string
  #db?: IDBPDatabase

  constructor (location: string) {
    super(location)
    this.#name = location
  }

  override async open (): Promise<void> {
    await super.open()
    // Opened after datastore-idb's own open, which created the object store at version 1.
    this.#db = await openDB(this.#name)
  }

  override async close (): Promise<void> {
    this.#db?.close()
    this.#db = undefined
    await super.close()
  }

  override batch (): Batch {
    const puts = new Map<string, Uint8Array>()
    const dels = new Set<string>()
    return {
      put: (key: Key, value: Uint8Array) => { puts.set(key.toString(), value); dels.delete(key.toString()) },
      delete: (key: Key) => { dels.add(key.toString()); puts.delete(key.toString()) },
      commit: async () => {
        if (this.#db == null) throw new Error('Datastore needs to be opened.')
        const tx = this.#db.transaction(this.#name, 'readwrite')
        const requests: Array<Promise<unknown>> = []
        try {
          for (const [key, value] of puts) requests.push(tx.store.put(value, key))
          for (const key of dels) requests.push(tx.store.delete(key))
        } catch (err) {
          // A put refused at once (a value it cannot clone): nothing of the batch may land.
          tx.abort()
          // The puts already asked for fail with the abort: the refusal is the error to report.
          await Promise.allSettled([...requests, tx.done])
          throw err
        }
        // The first failure rejects; tx.done rejects too when the transaction aborts (a full disk at commit).
        await Promise.all([...requests, tx.done])
      }
    }
  }
}
