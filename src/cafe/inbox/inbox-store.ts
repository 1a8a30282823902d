import { openDB } from 'idb'
import type { Envelope } from '../../inbox/envelope.ts'
import type { DBSchema, IDBPDatabase, IDBPTransaction } from 'idb'

/**
 * A message the cafe keeps for a recipient. `seq` is given by the store in arrival order;
 * `received` and `expires` are ISO-8601 UTC (same length, so they compare as strings).
 */
export interface InboxRecord {
  seq: number
  to: string
  from: string
  /** The envelope's id: with `to` and `from` it names the message (a re-delivery is the same one). */
  id: string
  envelope: Envelope
  /** Size of the envelope as JSON: what counts against the recipient's quota. */
  bytes: number
  received: string
  expires: string
}

export type NewInboxRecord = Omit<InboxRecord, 'seq'>

/** What a recipient's inbox holds. */
export interface InboxUsage { messages: number, bytes: number }

export interface InboxQuota { maxCount: number, maxBytes: number }

/** The outcome of an add: stored, already held (unexpired), or refused for the quota it would break. */
export type AddResult = { added: InboxRecord } | { duplicate: InboxRecord } | { full: 'count' | 'bytes' }

/** A message by its name: ids are chosen by senders, so only (from, id) names one (see dedupe.ts). */
export interface MessageRef { from: string, id: string }

export interface InboxStore {
  /**
   * In one step: returns the unexpired message already held under (to, from, id); else refuses
   * when the recipient would exceed the quota; else stores it with the next seq. An expired
   * copy under the same name is replaced.
   */
  add(record: NewInboxRecord, quota: InboxQuota, now: string): Promise<AddResult>
  /**
   * add() for each record in order, in one step (one transaction): the outcomes in the same
   * order. A later record sees the earlier ones (a repeat is a duplicate; they count against
   * the quota).
   */
  addMany(records: readonly NewInboxRecord[], quota: InboxQuota, now: string): Promise<AddResult[]>
  /** Up to `limit` unexpired messages of `to` with seq > after, seq ascending. */
  list(to: string, after: number, limit: number, now: string): Promise<InboxRecord[]>
  /** Deletes the messages of `to` named (from, id); none (undefined) when one of them is not held. */
  ack(to: string, refs: readonly MessageRef[]): Promise<number | undefined>
  usage(to: string): Promise<InboxUsage>
  deleteAll(to: string): Promise<void>
  /** Deletes messages whose expiry is at or before `now`; returns how many. */
  deleteExpired(now: string): Promise<number>
}

export class MemoryInboxStore implements InboxStore {
  // Map order is insertion order, which is seq order.
  readonly #rows = new Map<number, InboxRecord>()
  #seq = 0

  #of (to: string): InboxRecord[] { return [...this.#rows.values()].filter(r => r.to === to) }

  async add (record: NewInboxRecord, quota: InboxQuota, now: string): Promise<AddResult> {
    const held = this.#of(record.to).find(r => r.from === record.from && r.id === record.id)
    if (held != null) {
      if (held.expires > now) return { duplicate: structuredClone(held) }
      this.#rows.delete(held.seq)
    }
    const usage = await this.usage(record.to)
    if (usage.messages + 1 > quota.maxCount) return { full: 'count' }
    if (usage.bytes + record.bytes > quota.maxBytes) return { full: 'bytes' }
    const stored = { ...structuredClone(record), seq: ++this.#seq }
    this.#rows.set(stored.seq, stored)
    return { added: structuredClone(stored) }
  }

  async addMany (records: readonly NewInboxRecord[], quota: InboxQuota, now: string): Promise<AddResult[]> {
    const out: AddResult[] = []
    for (const r of records) out.push(await this.add(r, quota, now))
    return out
  }

  async list (to: string, after: number, limit: number, now: string): Promise<InboxRecord[]> {
    return this.#of(to).filter(r => r.seq > after && r.expires > now).slice(0, limit).map(r => structuredClone(r))
  }

  async ack (to: string, refs: readonly MessageRef[]): Promise<number | undefined> {
    const mine = this.#of(to)
    const doomed = refs.map(ref => mine.find(r => r.from === ref.from && r.id === ref.id))
    if (doomed.some(r => r == null)) return undefined
    let deleted = 0
    for (const r of doomed) if (this.#rows.delete(r!.seq)) deleted++
    return deleted
  }

  async usage (to: string): Promise<InboxUsage> {
    const mine = this.#of(to)
    return { messages: mine.length, bytes: mine.reduce((sum, r) => sum + r.bytes, 0) }
  }

  async deleteAll (to: string): Promise<void> { for (const r of this.#of(to)) this.#rows.delete(r.seq) }

  async deleteExpired (now: string): Promise<number> {
    let deleted = 0
    for (const r of [...this.#rows.values()]) if (r.expires <= now && this.#rows.delete(r.seq)) deleted++
    return deleted
  }
}

interface InboxDB extends DBSchema {
  messages: {
    key: number
    value: InboxRecord
    indexes: { to: string, key: [string, string, string], toId: [string, string], expires: string }
  }
  // Running totals per recipient, written in the same transactions as the messages: the quota
  // check then reads one row instead of every message (up to 16 MiB) on each delivery.
  totals: { key: string, value: InboxUsage & { to: string } }
}

type Tx = IDBPTransaction<InboxDB, ['messages', 'totals'], 'readwrite'>

export class IdbInboxStore implements InboxStore {
  readonly #db: Promise<IDBPDatabase<InboxDB>>
  constructor (name: string) {
    this.#db = openDB<InboxDB>(name, 1, {
      upgrade (db, old) {
        if (old < 1) {
          const messages = db.createObjectStore('messages', { keyPath: 'seq', autoIncrement: true })
          // Records of one recipient in this index come in primary-key (seq) order: arrival order.
          messages.createIndex('to', 'to')
          messages.createIndex('key', ['to', 'from', 'id'], { unique: true })
          // Unused since acknowledgements name the sender too; kept so version 1 stays as shipped.
          messages.createIndex('toId', ['to', 'id'])
          messages.createIndex('expires', 'expires')
          db.createObjectStore('totals', { keyPath: 'to' })
        }
      }
    })
  }

  static async #usage (tx: Tx, to: string): Promise<InboxUsage & { to: string }> {
    return (await tx.objectStore('totals').get(to)) ?? { to, messages: 0, bytes: 0 }
  }

  static async #putUsage (tx: Tx, usage: InboxUsage & { to: string }): Promise<void> {
    if (usage.messages <= 0) await tx.objectStore('totals').delete(usage.to)
    else await tx.objectStore('totals').put(usage)
  }

  async add (record: NewInboxRecord, quota: InboxQuota, now: string): Promise<AddResult> {
    return (await this.addMany([record], quota, now))[0]
  }

  async addMany (records: readonly NewInboxRecord[], quota: InboxQuota, now: string): Promise<AddResult[]> {
    const tx = (await this.#db).transaction(['messages', 'totals'], 'readwrite')
    const messages = tx.objectStore('messages')
    // Each recipient's totals are read once and written once, after its last record.
    const totals = new Map<string, InboxUsage & { to: string }>()
    const changed = new Set<string>()
    const out: AddResult[] = []
    for (const record of records) {
      let usage = totals.get(record.to)
      if (usage == null) { usage = await IdbInboxStore.#usage(tx, record.to); totals.set(record.to, usage) }
      const held = await messages.index('key').get([record.to, record.from, record.id])
      if (held != null) {
        if (held.expires > now) { out.push({ duplicate: held }); continue }
        await messages.delete(held.seq)
        usage.messages--
        usage.bytes -= held.bytes
        changed.add(record.to)
      }
      const full = usage.messages + 1 > quota.maxCount ? 'count' : usage.bytes + record.bytes > quota.maxBytes ? 'bytes' : undefined
      if (full != null) { out.push({ full }); continue }
      // The key generator fills in seq.
      const seq = await messages.add(record as InboxRecord)
      usage.messages++
      usage.bytes += record.bytes
      changed.add(record.to)
      out.push({ added: { ...record, seq } })
    }
    for (const to of changed) await IdbInboxStore.#putUsage(tx, totals.get(to)!)
    await tx.done
    return out
  }

  async list (to: string, after: number, limit: number, now: string): Promise<InboxRecord[]> {
    const tx = (await this.#db).transaction('messages')
    let cursor = await tx.store.index('to').openCursor(to)
    // Skip straight to seq > after instead of reading (up to 16 MiB of) messages already seen.
    if (cursor != null && cursor.primaryKey <= after) cursor = await cursor.continuePrimaryKey(to, after + 1)
    const out: InboxRecord[] = []
    while (cursor != null && out.length < limit) {
      if (cursor.value.expires > now) out.push(cursor.value)
      cursor = await cursor.continue()
    }
    await tx.done
    return out
  }

  async ack (to: string, refs: readonly MessageRef[]): Promise<number | undefined> {
    const tx = (await this.#db).transaction(['messages', 'totals'], 'readwrite')
    const messages = tx.objectStore('messages')
    const seqs: number[] = []
    for (const ref of refs) {
      const seq = await messages.index('key').getKey([to, ref.from, ref.id])
      // Nothing written yet: ending here leaves the inbox as it was.
      if (seq == null) { await tx.done; return undefined }
      seqs.push(seq)
    }
    const usage = await IdbInboxStore.#usage(tx, to)
    let deleted = 0
    for (const seq of new Set(seqs)) {
      const r = await messages.get(seq)
      if (r == null) continue
      await messages.delete(seq)
      usage.messages--
      usage.bytes -= r.bytes
      deleted++
    }
    await IdbInboxStore.#putUsage(tx, usage)
    await tx.done
    return deleted
  }

  async usage (to: string): Promise<InboxUsage> {
    const row = await (await this.#db).get('totals', to)
    return { messages: row?.messages ?? 0, bytes: row?.bytes ?? 0 }
  }

  async deleteAll (to: string): Promise<void> {
    const tx = (await this.#db).transaction(['messages', 'totals'], 'readwrite')
    const messages = tx.objectStore('messages')
    for (const seq of await messages.index('to').getAllKeys(to)) await messages.delete(seq)
    await tx.objectStore('totals').delete(to)
    await tx.done
  }

  async deleteExpired (now: string): Promise<number> {
    const tx = (await this.#db).transaction(['messages', 'totals'], 'readwrite')
    const changed = new Map<string, InboxUsage & { to: string }>()
    let deleted = 0
    let cursor = await tx.objectStore('messages').index('expires').openCursor(IDBKeyRange.upperBound(now))
    while (cursor != null) {
      const { to, bytes } = cursor.value
      const usage = changed.get(to) ?? await IdbInboxStore.#usage(tx, to)
      usage.messages--
      usage.bytes -= bytes
      changed.set(to, usage)
      await cursor.delete()
      deleted++
      cursor = await cursor.continue()
    }
    for (const usage of changed.values()) await IdbInboxStore.#putUsage(tx, usage)
    await tx.done
    return deleted
  }

  async close (): Promise<void> { (await this.#db).close() }
}
