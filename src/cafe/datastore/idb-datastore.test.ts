import 'fake-indexeddb/auto'
import { IDBDatastore } from 'datastore-idb'
import { Key } from 'interface-datastore'
import { describe, expect, it } from 'vitest'
import { CafeIdbDatastore } from './idb-datastore.ts'

let n = 0
const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b)
// A value IndexedDB refuses to store (it cannot be cloned): the put fails, as a full disk's would.
const unstorable = (() => 1) as unknown as Uint8Array

describe('CafeIdbDatastore', () => {
  it('a batch with a put that fails rejects, and none of the batch lands', async () => {
    const ds = new CafeIdbDatastore(`cafe-idb-${++n}`)
    await ds.open()
    const batch = ds.batch()
    batch.put(new Key('/a'), bytes(1))
    batch.put(new Key('/b'), unstorable)
    await expect(batch.commit()).rejects.toThrow()
    expect(await ds.has(new Key('/a'))).toBe(false)
    await ds.close()
  })

  it('(datastore-idb itself resolves that commit: what this class is for)', async () => {
    const ds = new IDBDatastore(`cafe-idb-${++n}`)
    await ds.open()
    const batch = ds.batch()
    batch.put(new Key('/a'), bytes(1))
    batch.put(new Key('/b'), unstorable)
    await expect(batch.commit()).resolves.toBeUndefined()
    expect(await ds.has(new Key('/a'))).toBe(false)
    await ds.close()
  })

  it('writes what datastore-idb reads back, across a reopen, with the last write to a key winning', async () => {
    const name = `cafe-idb-${++n}`
    const ds = new CafeIdbDatastore(name)
    await ds.open()
    await ds.put(new Key('/gone'), bytes(9))
    const batch = ds.batch()
    batch.put(new Key('/a/1'), bytes(1, 2))
    batch.put(new Key('/b'), bytes(3))
    batch.delete(new Key('/b'))
    batch.delete(new Key('/gone'))
    batch.delete(new Key('/c'))
    batch.put(new Key('/c'), bytes(4))
    await batch.commit()
    await ds.close()
    const plain = new IDBDatastore(name)
    await plain.open()
    expect(await plain.get(new Key('/a/1'))).toEqual(bytes(1, 2))
    expect(await plain.get(new Key('/c'))).toEqual(bytes(4))
    expect(await plain.has(new Key('/b'))).toBe(false)
    expect(await plain.has(new Key('/gone'))).toBe(false)
    await plain.close()
  })
})
