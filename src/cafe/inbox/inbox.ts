import { base64urlOf } from '../../contacts/validate.ts'
import { isAddress } from '../../account/account.ts'
import { envelopeKey } from '../../inbox/dedupe.ts'
import { ENVELOPE_LIMITS, verifyEnvelope } from '../../inbox/envelope.ts'
import { InvalidInputError, LightcafeError, NotFoundError, RateLimitedError } from '../../shared/errors.ts'
import { RateLimiter } from '../../shared/rate-limit.ts'
import type { Envelope } from '../../inbox/envelope.ts'
import type { AddResult, InboxStore, InboxUsage, MessageRef, NewInboxRecord } from './inbox-store.ts'

export const INBOX_LIMITS = {
  /** Largest envelope accepted, as JSON: a full sealed box (32 KiB of plaintext) after base64url. */
  maxEnvelopeBytes: 64 * 1024,
  /** Messages one recipient's inbox keeps: bounds a stranger's cost and a list's length. */
  perRecipientCount: 1000,
  /** Envelope bytes one recipient's inbox keeps. */
  perRecipientBytes: 16 * 1024 * 1024,
  /** Deliveries one sender (libp2p peer id, or 'local') may make in a burst: a client flushing its outbox. */
  rateCapacity: 300,
  /** Deliveries per second a sender sustains once its burst is spent. */
  rateRefillPerSecond: 20,
  /** How long an unacknowledged message is kept: a week offline. */
  ttlMs: 7 * 24 * 60 * 60_000,
  /** Messages one list returns at most (at most 16 MiB in all, the per-recipient bound). */
  maxListLimit: 500,
  /** Messages a list returns when the caller names no limit. */
  defaultListLimit: 100,
  /** Messages one ack may name. */
  maxAckIds: 500,
  /** Expired messages are swept by list and deliver at most this often. */
  expireEveryMs: 60_000,
  /** Envelopes one batch delivery may carry: one request and one transaction for a flushing outbox. */
  maxBatchCount: 100,
  /** Bytes of one batch delivery's body (100 full 64 KiB envelopes would be 6.4 MiB). */
  maxBatchBytes: 1024 * 1024
} as const

export type InboxLimits = { readonly [K in keyof typeof INBOX_LIMITS]: number }

/** A message as its recipient receives it. */
export interface InboxMessage { seq: number, received: string, envelope: Envelope }

export interface Delivery { id: string, seq: number, duplicate: boolean }

/** A message one call stored, for the listeners. */
interface Added { to: string, message: InboxMessage }

/** One envelope's outcome in a batch: delivered (as deliver() answers), or why not (as deliver() would have refused it). */
export type BatchDelivery = Delivery | BatchRefusal
export interface BatchRefusal { id?: string, error: { reason: string, details: string, status: number } }

export interface CafeInboxInit {
  store: InboxStore
  /** Whether the account is a registered client of this cafe: only they have an inbox here. */
  isRegistered: (address: string) => Promise<boolean>
  now?: () => number
  limits?: Partial<InboxLimits>
}

/** The messages one call stored for one recipient, in seq order (a batch: one call per recipient in it). */
type DeliveredListener = (to: string, messages: InboxMessage[]) => void

/** Checks an acknowledgement's `messages` (at the route): at most `max` names of a sender's message, `{from, id}`. */
export function parseAckRefs (refs: unknown, max: number): MessageRef[] {
  if (!Array.isArray(refs)) throw new InvalidInputError('INVALID_FIELD', 'messages must be an array of {from, id}')
  if (refs.length > max) throw new InvalidInputError('INVALID_FIELD', `messages holds at most ${max} entries`)
  return refs.map((ref: unknown, i) => {
    const { from, id } = (typeof ref === 'object' && ref != null ? ref : {}) as { from?: unknown, id?: unknown }
    if (!isAddress(from)) throw new InvalidInputError('INVALID_FIELD', `messages[${i}].from must be the sender's account address`)
    base64urlOf('INVALID_FIELD', `messages[${i}].id`, id, ENVELOPE_LIMITS.idBytes)
    return { from, id: id as string }
  })
}

/**
 * The offline inbox: anyone may deliver a signed envelope to a registered client, which lists
 * its messages in arrival order and acknowledges them; unacknowledged ones expire. The cafe sees
 * only the envelope's metadata; the body is sealed to the recipient.
 */
export class CafeInbox {
  limits: InboxLimits
  readonly #store: InboxStore
  readonly #isRegistered: (address: string) => Promise<boolean>
  readonly #now: () => number
  readonly #rate: RateLimiter
  readonly #listeners = new Set<DeliveredListener>()
  #lastExpire = -Infinity

  constructor (init: CafeInboxInit) {
    this.limits = { ...INBOX_LIMITS, ...init.limits }
    this.#store = init.store
    this.#isRegistered = init.isRegistered
    this.#now = init.now ?? Date.now
    this.#rate = new RateLimiter({ capacity: this.limits.rateCapacity, refillPerSecond: this.limits.rateRefillPerSecond, now: this.#now })
  }

  #iso (ms = this.#now()): string { return new Date(ms).toISOString() }

  /**
   * Calls `fn` once a delivery or a batch is stored, once per recipient with its newly stored
   * messages (never re-deliveries); returns the unsubscribe. Per recipient, not per message: what
   * a listener looks up about the recipient (its peer, to push to) is looked up once a batch.
   */
  onDelivered (fn: DeliveredListener): () => void {
    this.#listeners.add(fn)
    return () => { this.#listeners.delete(fn) }
  }

  async #maybeExpire (): Promise<void> {
    if (this.#now() - this.#lastExpire < this.limits.expireEveryMs) return
    await this.expire()
  }

  /** Keeps an envelope for its recipient. `senderPeer` is the carrier's peer id ('local' same-origin): the rate is per peer. */
  /** The owner's limits (per-recipient count and bytes, time to live); the rest stay as built. */
  setLimits (patch: Partial<Pick<InboxLimits, 'perRecipientCount' | 'perRecipientBytes' | 'ttlMs'>>): void {
    this.limits = { ...this.limits, ...patch }
  }

  async deliver (body: unknown, senderPeer: string): Promise<Delivery> {
    // Before any work: verifying a signature is what a flood would make the cafe spend.
    this.#rate.consume(senderPeer)
    const now = this.#now()
    const envelope = await this.#verify(body, now)
    const [result] = await this.#store.addMany([this.#record(envelope, now)], this.#quota(), this.#iso(now))
    const added: Added[] = []
    const delivery = this.#outcome(envelope, result, added)
    this.#tell(added)
    return delivery
  }

  /**
   * Many envelopes in one step (≤ maxBatchCount): each checked as deliver() checks one, and
   * all that pass stored in one transaction, in the order given. Outcomes come back in the
   * same order, one per envelope; only those with a seq are stored. Each envelope costs one
   * token of the sender's rate, as if delivered alone; those past its allowance are refused.
   */
  async deliverMany (bodies: unknown, senderPeer: string): Promise<BatchDelivery[]> {
    if (!Array.isArray(bodies) || bodies.length === 0) throw new InvalidInputError('INVALID_FIELD', 'envelopes must be a non-empty array')
    if (bodies.length > this.limits.maxBatchCount) throw new InvalidInputError('INVALID_FIELD', `a batch holds at most ${this.limits.maxBatchCount} envelopes`, { as: 'tooLarge' })
    const now = this.#now()
    const refused = (err: unknown, body: unknown): BatchRefusal => {
      if (!(err instanceof LightcafeError)) throw err
      const id = (body as { id?: unknown } | null)?.id
      return { ...(typeof id === 'string' && id.length <= 64 ? { id } : {}), error: { reason: err.reason, details: err.message, status: err.status } }
    }
    // The rate first, in order: verifying is what a flood would make the cafe spend.
    const allowed = bodies.map(() => this.#rate.take(senderPeer).ok)
    // A batch is mostly for one or a few recipients: each is looked up once.
    const registered = new Map<string, Promise<boolean>>()
    const isRegistered = async (to: string): Promise<boolean> => {
      let r = registered.get(to)
      if (r == null) { r = this.#isRegistered(to); registered.set(to, r) }
      return r
    }
    const checked = await Promise.all(bodies.map(async (body, i): Promise<Envelope | BatchRefusal> => {
      if (!allowed[i]) return refused(new RateLimitedError('RATE_LIMITED', 'too many deliveries from this peer; retry later'), body)
      try { return await this.#verify(body, now, isRegistered) } catch (err) { return refused(err, body) }
    }))
    const envelopes = checked.filter((c): c is Envelope => !('error' in c))
    const stored = envelopes.length === 0 ? [] : await this.#store.addMany(envelopes.map(e => this.#record(e, now)), this.#quota(), this.#iso(now))
    let next = 0
    const added: Added[] = []
    const outcomes = checked.map(c => {
      if ('error' in c) return c
      try { return this.#outcome(c, stored[next++], added) } catch (err) { return refused(err, c) }
    })
    this.#tell(added)
    return outcomes
  }

  /** A verified envelope for a registered recipient; the expiry sweep runs first when it is due. */
  async #verify (body: unknown, now: number, isRegistered = this.#isRegistered): Promise<Envelope> {
    const envelope = await verifyEnvelope(body, { ...ENVELOPE_LIMITS, maxBytes: this.limits.maxEnvelopeBytes }, now)
    if (!(await isRegistered(envelope.to))) throw new NotFoundError('UNKNOWN_RECIPIENT', 'the recipient is not a client of this cafe')
    await this.#maybeExpire()
    return envelope
  }

  #quota (): { maxCount: number, maxBytes: number } { return { maxCount: this.limits.perRecipientCount, maxBytes: this.limits.perRecipientBytes } }

  #record (envelope: Envelope, now: number): NewInboxRecord {
    return {
      to: envelope.to,
      from: envelope.from,
      id: envelope.id,
      envelope,
      // Every field is ASCII after verification: string length is the size.
      bytes: JSON.stringify(envelope).length,
      received: this.#iso(now),
      expires: this.#iso(now + this.limits.ttlMs)
    }
  }

  /** What the sender is told of one stored (or refused) envelope; a new one joins `added`, for the listeners. */
  #outcome (envelope: Envelope, result: AddResult, added: Added[]): Delivery {
    if ('full' in result) {
      const details = result.full === 'count'
        ? `the recipient's inbox holds its most messages (${this.limits.perRecipientCount})`
        : `the recipient's inbox holds its most bytes (${this.limits.perRecipientBytes})`
      throw new LightcafeError('INBOX_FULL', `${details}; try again after it has read some`)
    }
    if ('duplicate' in result) return { id: envelope.id, seq: result.duplicate.seq, duplicate: true }
    const { seq, received } = result.added
    added.push({ to: envelope.to, message: { seq, received, envelope } })
    return { id: envelope.id, seq, duplicate: false }
  }

  /** Tells the listeners of what one call stored: per recipient, in seq order. */
  #tell (added: readonly Added[]): void {
    if (added.length === 0 || this.#listeners.size === 0) return
    const byTo = new Map<string, InboxMessage[]>()
    for (const { to, message } of added) {
      const mine = byTo.get(to)
      if (mine == null) byTo.set(to, [message])
      else mine.push(message)
    }
    for (const [to, messages] of byTo) {
      for (const fn of this.#listeners) {
        // The messages are stored whatever a listener does: its failure is not the sender's.
        try { fn(to, messages) } catch (err) { console.error('inbox listener failed', err) }
      }
    }
  }

  /** The recipient's unexpired messages after seq `after`, in arrival order; `more` when the limit cut the list short. */
  async list (address: string, opts: { after?: number, limit?: number } = {}): Promise<{ messages: InboxMessage[], more: boolean }> {
    const after = opts.after ?? 0
    const limit = opts.limit ?? Math.min(this.limits.defaultListLimit, this.limits.maxListLimit)
    if (!Number.isSafeInteger(after) || after < 0) throw new InvalidInputError('INVALID_FIELD', 'after must be a whole number ≥ 0')
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > this.limits.maxListLimit) throw new InvalidInputError('INVALID_FIELD', `limit must be a whole number from 1 to ${this.limits.maxListLimit}`)
    await this.#maybeExpire()
    // One more than asked tells whether there are more.
    const rows = await this.#store.list(address, after, limit + 1, this.#iso())
    return { messages: rows.slice(0, limit).map(({ seq, received, envelope }) => ({ seq, received, envelope })), more: rows.length > limit }
  }

  /**
   * Deletes the recipient's messages named by sender and envelope id: all of them, or none when
   * one is not held. The sender is part of the name, as in storing: ids are the senders' choice,
   * so acknowledging one sender's message must not delete another's under the same id.
   */
  async ack (address: string, refs: MessageRef[]): Promise<{ deleted: number }> {
    const named = new Map(refs.map(ref => [envelopeKey(ref), ref]))
    const deleted = await this.#store.ack(address, [...named.values()])
    if (deleted == null) throw new NotFoundError('MESSAGE_NOT_FOUND', 'a message named is not in this inbox; nothing was deleted')
    return { deleted }
  }

  /** Messages and bytes the recipient's inbox holds (expired ones until the next sweep). */
  async count (address: string): Promise<InboxUsage> { return this.#store.usage(address) }

  /** The recipient is gone: drop its inbox. */
  async removeAll (address: string): Promise<void> { await this.#store.deleteAll(address) }

  /** Deletes expired messages; returns how many. */
  async expire (): Promise<number> {
    this.#lastExpire = this.#now()
    return this.#store.deleteExpired(this.#iso())
  }
}
