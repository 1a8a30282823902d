import type { BackupRecord, OutboxDB } from './model.ts'
import type { CafeSession } from '../session-store.ts'
import type { IDBPDatabase } from 'idb'

/** What bringing the outbox in line changed: backups queued (backfill), cafes forgotten and their records, cafes with new jobs. */
export interface Reconciled { queued: BackupRecord[], gone: string[], removed: BackupRecord[], kicked: Set<string> }

/**
 * Brings the outbox's records in line with the cafes this account is registered with (one
 * transaction): a cafe seen for the first time gets a pin job for every backup and each
 * thread's newest snapshot (backfill); a cafe no longer registered (deregistered: it forgot
 * this account's pins itself) is forgotten with its records and jobs; block lists of DAGs no
 * backup names any more go.
 */
export async function reconcile (db: IDBPDatabase<OutboxDB>, sessions: CafeSession[], threads: string[], now: string): Promise<Reconciled> {
  const active = sessions.filter(s => s.ended == null).map(s => s.id)
  const registered = new Set(sessions.map(s => s.id))
  const tx = db.transaction(['jobs', 'backups', 'cafes', 'dags'], 'readwrite')
  const rows = await tx.objectStore('backups').getAll()
  const known = new Set((await tx.objectStore('cafes').getAll()).map(c => c.id))
  // Every DAG backed up anywhere and not being unpinned: what each cafe should hold.
  const wanted = new Map<string, number | undefined>()
  for (const r of rows) if (r.status !== 'unpinning') wanted.set(r.cid, r.size)
  const have = new Set(rows.map(r => `${r.cid}|${r.cafe}`))
  const out: Reconciled = { queued: [], gone: [], removed: [], kicked: new Set() }
  for (const cafe of active) {
    const isNew = !known.has(cafe)
    if (isNew) await tx.objectStore('cafes').put({ id: cafe, added: now })
    for (const [cid, size] of wanted) {
      if (have.has(`${cid}|${cafe}`)) continue
      const record: BackupRecord = { cid, cafe, status: 'queued', updated: now, ...(size != null ? { size } : {}) }
      await tx.objectStore('backups').put(record)
      await tx.objectStore('jobs').add({ cafe, kind: 'pin', target: cid, attempts: 0, notBefore: 0 })
      out.queued.push(record)
      out.kicked.add(cafe)
    }
    if (isNew) for (const id of threads) { await tx.objectStore('jobs').add({ cafe, kind: 'snapshot', target: id, attempts: 0, notBefore: 0 }); out.kicked.add(cafe) }
  }
  const gone = new Set([...known, ...rows.map(r => r.cafe)].filter(c => !registered.has(c)))
  for (const cafe of gone) {
    out.gone.push(cafe)
    await tx.objectStore('cafes').delete(cafe)
    for (const r of rows) if (r.cafe === cafe) { await tx.objectStore('backups').delete([r.cid, r.cafe]); out.removed.push(r) }
    for (const seq of await tx.objectStore('jobs').index('cafe').getAllKeys(cafe)) await tx.objectStore('jobs').delete(seq)
  }
  // Block lists of DAGs no backup names any more (unpinned everywhere).
  const named = new Set(rows.map(r => r.cid))
  for (const cid of await tx.objectStore('dags').getAllKeys()) if (!named.has(cid)) await tx.objectStore('dags').delete(cid)
  await tx.done
  return out
}
