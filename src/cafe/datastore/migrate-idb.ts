import { deleteDB, openDB } from 'idb'
import { Key } from 'interface-datastore'
import { LightcafeError } from '../../shared/errors.ts'
import { Records } from './records.ts'
import type { Contact } from '../../contacts/contact.ts'
import type { InboxRecord } from '../inbox/inbox-store.ts'
import type { PinRecord } from '../pins/pin-store.ts'
import type { SnapshotRecord } from '../snapshots.ts'
import type { CafeSettings, ClientRecord, SessionRecord, TokenRecord } from '../store.ts'
import type { IDBPDatabase } from 'idb'
import type { Datastore } from 'interface-datastore'

/**
 * Up to version 0.1 the tab cafe kept its records in one IndexedDB database per store (through
 * idb); they now live in datastore-idb databases (`<prefix>/cafe-records/<store>`). This moves
 * them once, at start, before the new stores open. Every record keeps its key (token id, client
 * address, sid, requestid, (address, id), seq), and a record is written only where its key is
 * still empty: a run cut short runs again without duplicates and never overwrites what is
 * already there. The marker is written last; only then are the old databases deleted.
 * (`<prefix>/cafe-blocks`, the blockstore, did not move.)
 */

/** The old databases, by the new store their records go to. */
export const OLD_DATABASES = { cafe: 'cafe', pins: 'cafe-pins', snapshots: 'cafe-snapshots', contacts: 'cafe-contacts', inbox: 'cafe-inbox' } as const
/** The new stores' datastores (compose.ts's CafeRecords). */
type CafeRecords = Record<keyof typeof OLD_DATABASES, Datastore>
/** In the `cafe` datastore, outside the cafe store's `/cafe/` namespace. */
export const MIGRATED_KEY = new Key('/migrated/idb-stores')
/** Records read per IndexedDB transaction and written per datastore batch: bounded memory for a large inbox. */
const CHUNK = 256

export interface Migration {
  /** False when the marker was already there: nothing was read. */
  ran: boolean
  /** Records found in the old databases, by new store (the ones already present are counted too). */
  counts: Record<keyof CafeRecords, number>
  /** The old databases' deletion: it waits while a tab of the old version still holds them open, so start does not await it. */
  removed: Promise<void>
}

interface Marker { at: string, counts: Record<keyof CafeRecords, number> }

export async function migrateIdbStores (prefix: string, records: CafeRecords): Promise<Migration> {
  const counts = { cafe: 0, pins: 0, snapshots: 0, contacts: 0, inbox: 0 }
  if (await records.cafe.has(MIGRATED_KEY)) return { ran: false, counts, removed: removeOld(prefix) }
  try {
    for (const store of Object.keys(OLD_DATABASES) as Array<keyof CafeRecords>) {
      const db = await openExisting(`${prefix}/${OLD_DATABASES[store]}`)
      if (db == null) continue
      try {
        counts[store] = await COPY[store](db, records[store])
      } finally {
        db.close()
      }
    }
    const marker: Marker = { at: new Date().toISOString(), counts }
    await records.cafe.put(MIGRATED_KEY, new TextEncoder().encode(JSON.stringify(marker)))
  } catch (err) {
    throw new LightcafeError('STORAGE_ERROR', `the cafe's records could not be moved to their new stores (nothing was deleted; the next start tries again): ${(err as Error).message}`, { cause: err })
  }
  return { ran: true, counts, removed: removeOld(prefix) }
}

async function removeOld (prefix: string): Promise<void> {
  // Deleting a database that does not exist succeeds at once.
  await Promise.all(Object.values(OLD_DATABASES).map(async name => deleteDB(`${prefix}/${name}`).catch(() => {})))
}

/** The database as it is, or undefined without creating it (an upgrade from version 0 is aborted). */
async function openExisting (name: string): Promise<IDBPDatabase | undefined> {
  let created = false
  try {
    return await openDB(name, undefined, { upgrade (_db, old, _new, tx) { if (old === 0) { created = true; tx.done.catch(() => {}); tx.abort() } } })
  } catch (err) {
    if (created) return undefined
    throw err
  }
}

/** Every record of an object store, CHUNK at a time, each chunk in its own read transaction. */
async function * chunks<T> (db: IDBPDatabase, store: string): AsyncGenerator<Array<{ key: IDBValidKey, value: T }>> {
  if (!db.objectStoreNames.contains(store)) return
  let after: IDBValidKey | undefined
  for (;;) {
    const tx = db.transaction(store)
    const range = after == null ? undefined : IDBKeyRange.lowerBound(after, true)
    const [keys, values] = await Promise.all([tx.store.getAllKeys(range, CHUNK), tx.store.getAll(range, CHUNK), tx.done])
    if (keys.length === 0) return
    yield keys.map((key, i) => ({ key, value: values[i] as T }))
    if (keys.length < CHUNK) return
    after = keys[keys.length - 1]
  }
}

/** Writes the rows whose keys are still empty, in one batch. */
async function putAbsent (ds: Datastore, rows: Records<unknown>, items: Array<{ key: Key, value: unknown }>): Promise<void> {
  const batch = rows.batch()
  for (const { key, value } of items) if (!await ds.has(key)) batch.put(key, value)
  await batch.commit()
}

async function copyStore<T> (db: IDBPDatabase, store: string, ds: Datastore, rows: Records<unknown>, map: (value: T, key: IDBValidKey) => Array<{ key: Key, value: unknown }>): Promise<number> {
  let n = 0
  for await (const chunk of chunks<T>(db, store)) {
    await putAbsent(ds, rows, chunk.flatMap(({ key, value }) => map(value, key)))
    n += chunk.length
  }
  return n
}

type Copy = (db: IDBPDatabase, ds: Datastore) => Promise<number>

const COPY: Record<keyof CafeRecords, Copy> = {
  async cafe (db, ds) {
    const rows = new Records<unknown>(ds, 'cafe')
    // Version 2 keeps quotas by address apart from clients; version 1 had them on the client.
    const quotas = new Map<string, number>()
    for await (const chunk of chunks<number>(db, 'quotas')) for (const { key, value } of chunk) quotas.set(String(key), value)
    let n = 0
    n += await copyStore<TokenRecord>(db, 'tokens', ds, rows, t => [{ key: rows.key('token', t.id), value: t }])
    n += await copyStore<ClientRecord>(db, 'clients', ds, rows, c => {
      const client = { ...c }
      delete client.quota
      const quota = quotas.get(c.address) ?? c.quota
      return [{ key: rows.key('client', c.address), value: client }, ...quota == null ? [] : [{ key: rows.key('quota', c.address), value: quota }]]
    })
    n += await copyStore<SessionRecord>(db, 'sessions', ds, rows, s => [{ key: rows.key('session', s.sid), value: s }])
    n += await copyStore<CafeSettings>(db, 'settings', ds, rows, (s, key) => key === 'cafe' ? [{ key: rows.key('settings'), value: s }] : [])
    return n
  },
  async pins (db, ds) {
    const rows = new Records<unknown>(ds, 'pins')
    return copyStore<PinRecord>(db, 'pins', ds, rows, p => [{ key: rows.key(p.requestid), value: p }])
  },
  async snapshots (db, ds) {
    const rows = new Records<unknown>(ds, 'snapshots')
    return copyStore<SnapshotRecord>(db, 'snapshots', ds, rows, s => [{ key: rows.key(s.address, s.id), value: s }])
  },
  async contacts (db, ds) {
    const rows = new Records<unknown>(ds, 'contacts')
    return copyStore<Contact>(db, 'contacts', ds, rows, c => [{ key: rows.key(c.address), value: c }])
  },
  async inbox (db, ds) {
    const rows = new Records<unknown>(ds, 'inbox')
    let last = 0
    const n = await copyStore<InboxRecord>(db, 'messages', ds, rows, m => { last = Math.max(last, m.seq); return [{ key: rows.key('m', m.seq), value: m }] })
    // Clients list with `after` = the last seq they saw, which may be a message since deleted:
    // the new store must go on from the old key generator, not from the highest seq left.
    last = Math.max(last, await lastGiven(db), (await rows.get(rows.key('seq')) as number | undefined) ?? 0)
    if (last > 0) await rows.put(rows.key('seq'), last)
    return n
  }
}

/** The last seq the old inbox's key generator gave: an add, aborted, shows the next one. */
async function lastGiven (db: IDBPDatabase): Promise<number> {
  if (!db.objectStoreNames.contains('messages')) return 0
  const tx = db.transaction('messages', 'readwrite')
  const next = await tx.store.add({}) as number
  tx.abort()
  await tx.done.catch(() => {})
  return next - 1
}
