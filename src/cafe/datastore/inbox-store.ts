import { Records, Serial } from './records.ts'
import type { AddResult, InboxQuota, InboxRecord, InboxStore, InboxUsage, MessageRef, NewInboxRecord } from '../inbox/inbox-store.ts'
import type { Datastore } from 'interface-datastore'

/** What the store keeps in memory of each message: enough to check, order and count without reading it. */
type Meta = Pick<InboxRecord, 'seq' | 'from' | 'id' | 'bytes' | 'expires'>

const nameOf = (to: string, from: string, id: string): string => JSON.stringify([to, from, id])

/**
 * The cafe's inbox over an interface-datastore: each message at `/inbox/m/<seq>`, the last seq
 * given at `/inbox/seq` (written in the same batch as the message it numbers, so a seq is never
 * reused after a kill and a client's `after` never skips a new message). Per-recipient order,
 * names and totals are rebuilt in memory at open.
 */
export class DatastoreInboxStore implements InboxStore {
  readonly #rows: Records<InboxRecord | number>
  readonly #serial = new Serial()
  // Per recipient, in seq order (a Map keeps insertion order and seqs only grow).
  readonly #byTo = new Map<string, Map<number, Meta>>()
  readonly #byName = new Map<string, number>()
  #seq = 0
  readonly #ready: Promise<void>

  constructor (ds: Datastore) {
    this.#rows = new Records<InboxRecord | number>(ds, 'inbox')
    this.#ready = this.#load()
  }

  async #load (): Promise<void> {
    this.#seq = (await this.#rows.get(this.#rows.key('seq')) as number | undefined) ?? 0
    const all: InboxRecord[] = []
    for await (const { value } of this.#rows.all('m')) all.push(value as InboxRecord)
    for (const r of all.sort((a, b) => a.seq - b.seq)) this.#index(r.to, r)
  }

  #index (to: string, r: Meta): void {
    let rows = this.#byTo.get(to)
    if (rows == null) { rows = new Map(); this.#byTo.set(to, rows) }
    rows.set(r.seq, { seq: r.seq, from: r.from, id: r.id, bytes: r.bytes, expires: r.expires })
    this.#byName.set(nameOf(to, r.from, r.id), r.seq)
  }

  #unindex (to: string, r: Meta): void {
    const rows = this.#byTo.get(to)
    rows?.delete(r.seq)
    if (rows?.size === 0) this.#byTo.delete(to)
    this.#byName.delete(nameOf(to, r.from, r.id))
  }

  #usage (to: string): InboxUsage {
    let messages = 0
    let bytes = 0
    for (const r of this.#byTo.get(to)?.values() ?? []) { messages++; bytes += r.bytes }
    return { messages, bytes }
  }

  async add (record: NewInboxRecord, quota: InboxQuota, now: string): Promise<AddResult> {
    return (await this.addMany([record], quota, now))[0]
  }

  async addMany (records: readonly NewInboxRecord[], quota: InboxQuota, now: string): Promise<AddResult[]> {
    await this.#ready
    return this.#serial.run(async () => {
      const batch = this.#rows.batch()
      const out: AddResult[] = []
      // What this call adds, by name, and each recipient's usage as it goes: a later record
      // sees the earlier ones (a repeat is a duplicate, they count against the quota).
      const staged = new Map<string, InboxRecord>()
      const usages = new Map<string, InboxUsage>()
      const replaced: Array<{ to: string, meta: Meta }> = []
      let seq = this.#seq
      for (const record of records) {
        const name = nameOf(record.to, record.from, record.id)
        const mine = staged.get(name)
        if (mine != null) { out.push({ duplicate: mine }); continue }
        const heldSeq = this.#byName.get(name)
        const held = heldSeq == null ? undefined : this.#byTo.get(record.to)?.get(heldSeq)
        if (held != null && held.expires > now) {
          const stored = await this.#rows.get(this.#rows.key('m', held.seq)) as InboxRecord | undefined
          if (stored != null) { out.push({ duplicate: stored }); continue }
        }
        let usage = usages.get(record.to)
        if (usage == null) { usage = this.#usage(record.to); usages.set(record.to, usage) }
        const messages = usage.messages - (held != null ? 1 : 0)
        const bytes = usage.bytes - (held?.bytes ?? 0)
        if (messages + 1 > quota.maxCount) { out.push({ full: 'count' }); continue }
        if (bytes + record.bytes > quota.maxBytes) { out.push({ full: 'bytes' }); continue }
        const stored: InboxRecord = { ...record, seq: ++seq }
        // An expired copy goes, the messages and the last seq land: all in one batch.
        batch.put(this.#rows.key('m', stored.seq), stored)
        if (held != null) { batch.delete(this.#rows.key('m', held.seq)); replaced.push({ to: record.to, meta: held }) }
        usage.messages = messages + 1
        usage.bytes = bytes + record.bytes
        staged.set(name, stored)
        out.push({ added: stored })
      }
      if (staged.size === 0) return out
      batch.put(this.#rows.key('seq'), seq)
      await batch.commit()
      this.#seq = seq
      for (const { to, meta } of replaced) this.#unindex(to, meta)
      for (const r of staged.values()) this.#index(r.to, r)
      return out
    })
  }

  async list (to: string, after: number, limit: number, now: string): Promise<InboxRecord[]> {
    await this.#ready
    const seqs: number[] = []
    for (const r of this.#byTo.get(to)?.values() ?? []) {
      if (seqs.length >= limit) break
      if (r.seq > after && r.expires > now) seqs.push(r.seq)
    }
    const out: InboxRecord[] = []
    for (const seq of seqs) {
      const r = await this.#rows.get(this.#rows.key('m', seq)) as InboxRecord | undefined
      if (r != null) out.push(r)
    }
    return out
  }

  async ack (to: string, refs: readonly MessageRef[]): Promise<number | undefined> {
    await this.#ready
    return this.#serial.run(async () => {
      const doomed = new Map<number, Meta>()
      for (const ref of refs) {
        const seq = this.#byName.get(nameOf(to, ref.from, ref.id))
        const meta = seq == null ? undefined : this.#byTo.get(to)?.get(seq)
        // Nothing written yet: one unknown name leaves the inbox as it was.
        if (meta == null) return undefined
        doomed.set(meta.seq, meta)
      }
      await this.#deleteAll(to, [...doomed.values()])
      return doomed.size
    })
  }

  async #deleteAll (to: string, rows: Meta[]): Promise<void> {
    const batch = this.#rows.batch()
    for (const r of rows) batch.delete(this.#rows.key('m', r.seq))
    await batch.commit()
    for (const r of rows) this.#unindex(to, r)
  }

  async usage (to: string): Promise<InboxUsage> { await this.#ready; return this.#usage(to) }

  async deleteAll (to: string): Promise<void> {
    await this.#ready
    await this.#serial.run(async () => { await this.#deleteAll(to, [...this.#byTo.get(to)?.values() ?? []]) })
  }

  async deleteExpired (now: string): Promise<number> {
    await this.#ready
    return this.#serial.run(async () => {
      let deleted = 0
      for (const [to, rows] of [...this.#byTo]) {
        const expired = [...rows.values()].filter(r => r.expires <= now)
        if (expired.length === 0) continue
        await this.#deleteAll(to, expired)
        deleted += expired.length
      }
      return deleted
    })
  }
}
