import { TypedEventEmitter } from 'main-event'
import { boxKeyPair } from '../account/box.ts'
import { backoff } from '../shared/backoff.ts'
import { Wake } from '../shared/wake.ts'
import { Outbox } from './outbox.ts'
import { ack, collect, list, unread } from './messages/collect.ts'
import { contactOf, profile, setProfile } from './messages/contacts.ts'
import { MESSAGE_LIMITS, MESSAGE_RETRY, openMessagesDb, queueOf } from './messages/model.ts'
import { receive, receiveMany } from './messages/receive.ts'
import { deliverAll, pending, send } from './messages/send.ts'
import { receiptSettings, sent, sentChanged, setReceiptSettings } from './messages/sent.ts'
import type { BoxPair, MessagesComponents, Progress } from './messages/components.ts'
import type { MessageLimits, MessageRef, MessagesInit, Outgoing, ReceiveOutcome, ReceivedMessage, ReceiptSettings, ReceiveProblem, Via } from './messages/model.ts'
import type { JobOutcome } from './outbox.ts'
import type { SentRecord } from './receipts.ts'
import type { Contact } from '../contacts/index.ts'

export { MESSAGE_LIMITS } from './messages/model.ts'
export { parseOutgoing } from './messages/send.ts'
export type { MessageLimits, MessagesInit, ReceiveOutcome, ReceivedMessage, ReceiptSettings, ReceiveProblem, Via } from './messages/model.ts'

/** What Messages tells: a message arrived, a sent one changed state, or the own profile changed. */
export interface MessagesEvents { message: CustomEvent<void>, sent: CustomEvent<void>, profile: CustomEvent<void> }

/**
 * Messages between accounts: this account's public contact (published to its cafes), contact
 * lookup (cache, its cafes, connected peers), sending end-to-end encrypted envelopes directly
 * or to the recipient's inbox cafes (kept in IndexedDB and retried until one accepts), and
 * receiving them (pushed by peers and cafes, or collected) exactly once, in arrival order.
 *
 * A thin class in front (Helia unixfs's shape): each job is a module of `messages/` taking the
 * components this class holds: contacts.ts, send.ts, sent.ts (sent records and receipts),
 * receive.ts (with the strangers' budget), collect.ts (collecting and reading).
 */
export class Messages extends TypedEventEmitter<MessagesEvents> {
  readonly limits: MessageLimits
  readonly #c: MessagesComponents
  readonly #wake: Wake
  readonly #unwake: () => void
  #heldTimer: ReturnType<typeof setTimeout> | undefined
  #stopped = false
  /** Cancels the pending retry of a failed collection (a wake runs it at once). */
  #collectRetry: (() => void) | undefined

  constructor (init: MessagesInit) {
    super()
    const now = init.now ?? Date.now
    this.limits = { ...MESSAGE_LIMITS, ...init.limits }
    this.#wake = init.wake ?? new Wake()
    const db = openMessagesDb(init.dbName)
    const outbox: Outbox<Outgoing> = new Outbox<Outgoing>({
      db,
      store: 'outgoing',
      keyOf: queueOf,
      idOf: job => job.key,
      // Every due message to one recipient in one go: the cafes take them in batches.
      batch: Infinity,
      run: async jobs => (await deliverAll(this.#c, jobs)).map((route): JobOutcome => ({ state: route != null ? 'done' : 'retry' })),
      settled: async jobs => { await sentChanged(this.#c, jobs) },
      retry: MESSAGE_RETRY,
      wake: this.#wake,
      now
    })
    let lastSeq = 0
    this.#c = {
      init,
      db,
      now,
      limits: this.limits,
      outbox,
      unreachable: new Map<string, number>(),
      progress: new Map<string, Progress>(),
      status: {},
      box: boxOf(init),
      seq: () => { lastSeq = Math.max(now() * 1000, lastSeq + 1); return lastSeq },
      tell: event => { this.safeDispatchEvent(event) },
      collectLater: () => { this.#collectLater() }
    }
    // A peer back (or the whole network): it is worth a direct try again at once.
    this.#unwake = this.#wake.on(e => { if (e.peer != null) this.#c.unreachable.delete(e.peer); else this.#c.unreachable.clear() })
  }

  /** Retries what was not delivered and collects what arrived at the cafes while away. */
  async start (): Promise<void> {
    void this.#c.outbox.start().catch(() => {})
    void this.#collectUntilDone()
  }

  stop (): void { this.#stopped = true; this.#c.outbox.stop(); this.#unwake(); this.#collectRetry?.(); clearTimeout(this.#heldTimer) }

  // What arrived while this peer was away: a fresh page may not reach its cafes at once.
  async #collectUntilDone (attempt = 0): Promise<void> {
    if (this.#stopped) return
    try {
      const { held } = await this.collect()
      if (held > 0) this.#collectLater()
    } catch {
      this.#collectRetry = this.#wake.after(backoff(attempt, MESSAGE_RETRY), () => { this.#collectRetry = undefined; void this.#collectUntilDone(attempt + 1) })
    }
  }

  /** Messages left at a cafe (storage full, clock far off): collected again later, once. */
  #collectLater (): void {
    if (this.#heldTimer != null || this.#stopped) return
    this.#heldTimer = setTimeout(() => { this.#heldTimer = undefined; void this.#collectUntilDone() }, this.limits.heldRetryMs)
  }

  /** Why the last delivery attempt to a peer or cafe failed (shown with the outbox). */
  get lastFailure (): string | undefined { return this.#c.status.lastFailure }
  /** Set while messages wait at a cafe because this device could not keep them (shown on the page). */
  get receiveProblem (): ReceiveProblem | undefined { return this.#c.status.receiveProblem }

  // Contacts (messages/contacts.ts)
  async profile (): Promise<Contact | undefined> { return profile(this.#c) }
  async setProfile (name: unknown): Promise<{ contact: Contact, published: string[] }> { return setProfile(this.#c, name) }
  async contactOf (address: string, opts: { refresh?: boolean } = {}): Promise<Contact> { return contactOf(this.#c, address, opts) }

  // Sending (messages/send.ts) and what became of it (messages/sent.ts)
  /** Sends text to an account (checked at the route: `parseOutgoing`). */
  async send (to: string, text: string): Promise<{ id: string, route: 'direct' | 'inbox' | 'queued' }> { return send(this.#c, to, text) }
  /** Messages waiting to be delivered (receipts not counted). */
  async pending (): Promise<number> { return pending(this.#c) }
  async sent (limit?: number): Promise<SentRecord[]> { return sent(this.#c, limit) }
  async receiptSettings (): Promise<ReceiptSettings> { return receiptSettings(this.#c) }
  async setReceiptSettings (body: Record<string, unknown>): Promise<ReceiptSettings> { return setReceiptSettings(this.#c, body) }

  // Receiving (messages/receive.ts), collecting and reading (messages/collect.ts)
  async receive (value: unknown, opts: { via?: Via } = {}): Promise<boolean> { return receive(this.#c, value, opts) }
  async receiveMany (values: readonly unknown[], opts: { via?: Via } = {}): Promise<ReceiveOutcome[]> { return receiveMany(this.#c, values, opts) }
  async collect (cafeId?: string): Promise<{ received: number, held: number }> { return collect(this.#c, cafeId) }
  async ack (cafeId: string, refs: MessageRef[]): Promise<void> { await ack(this.#c, cafeId, refs) }
  async list (): Promise<ReceivedMessage[]> { return list(this.#c) }
  async unread (): Promise<number> { return unread(this.#c) }
  async count (): Promise<number> { return (await this.#c.db).count('received') }

  async close (): Promise<void> { (await this.#c.db).close() }
}

/** The account's box key pair, derived once per account key (a drain opens hundreds of boxes). */
function boxOf (init: MessagesInit): () => BoxPair {
  let held: { account: Uint8Array, pair: BoxPair } | undefined
  return () => {
    const account = init.account().secretKey
    if (held?.account !== account) held = { account, pair: boxKeyPair(account) }
    return held.pair
  }
}
