import type { Envelope } from '../../inbox/envelope.ts'

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
