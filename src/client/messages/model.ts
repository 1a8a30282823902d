import { openDB } from 'idb'
import type { CafeClient, CafeTransport } from '../cafe-client.ts'
import type { Receipt, SentRecord } from '../receipts.ts'
import type { Account } from '../../account/index.ts'
import type { Contact } from '../../contacts/index.ts'
import type { Envelope } from '../../inbox/index.ts'
import type { Reason } from '../../shared/reasons.ts'
import type { Wake } from '../../shared/wake.ts'
import type { DBSchema, IDBPDatabase } from 'idb'

// What the Messages service keeps and is given: its bounds, its records in IndexedDB, its init.

export const MESSAGE_LIMITS = {
  /** A message's text; sealed and base64url-encoded it stays inside the 64 KiB envelope. */
  maxTextBytes: 32 * 1024 - 64,
  /** Inbox pages collected per request: a cafe's largest page and largest acknowledgement (INBOX_LIMITS). */
  pageSize: 500,
  /** Undelivered messages are retried this often (doubling up to the cap). */
  firstRetryMs: 2_000,
  maxRetryMs: 30_000,
  /** One delivery attempt (dial + request) to a peer or cafe. */
  attemptTimeoutMs: 10_000,
  /**
   * A peer that could not be reached directly (its relay said it is not there, or the dial
   * failed) is not tried directly again for this long: messages to it go to its inbox cafes at
   * once, with no dial to wait on. Its return cuts this short: the relays say when it reserves
   * again, and that wake (or the network's) clears it.
   */
  unreachableForMs: 60_000,
  /**
   * Clocks of two devices disagree: a message "created" up to this far ahead of ours is taken.
   * Further ahead is not proof of a bad message either, so it is left at the cafe, not dropped.
   */
  maxFutureSkewMs: 60 * 60_000,
  /**
   * Direct deliveries from senders not in this device's contacts, stored and not yet read: the
   * same bounds as a cafe's inbox (INBOX_LIMITS), for all such senders together, so minting peer
   * ids or accounts (both free) does not buy more. Past them a direct delivery is refused and
   * the sender falls back to the recipient's cafes, which keep it within their own limits.
   */
  unsolicitedCount: 1000,
  unsolicitedBytes: 16 * 1024 * 1024,
  /** A direct delivery older than this is refused (a cafe would have let it expire): a week. */
  maxDirectAgeMs: 7 * 24 * 60 * 60_000,
  /** Messages left at a cafe (storage full, clock far off) are collected again this often. */
  heldRetryMs: 5 * 60_000
} as const

export type MessageLimits = { readonly [K in keyof typeof MESSAGE_LIMITS]: number }

export const MESSAGE_RETRY = { firstMs: MESSAGE_LIMITS.firstRetryMs, maxMs: MESSAGE_LIMITS.maxRetryMs }

export interface MessagesInit {
  account: () => Account
  client: CafeClient
  /** Requests to any peer (cafe or not) over libp2p, dialling through the relays when needed. */
  transport: CafeTransport
  peerId: string
  /** Peers connected now that can answer a direct contact lookup (not relays: see httpPeers). */
  connectedPeers: () => string[] | Promise<string[]>
  dbName: string
  /** When it fires (the network or a peer came back), waiting messages and collections are tried at once. */
  wake?: Wake
  now?: () => number
  limits?: Partial<MessageLimits>
}

/** How an envelope reached this device: from any peer directly, or from one of this account's cafes (push or collect). */
export type Via = 'direct' | 'cafe'

/** Why messages were left at a cafe, for the Messages view. */
export interface ReceiveProblem { reason: string, details: string, at: string, held: number }

/**
 * Reasons that prove an envelope bad whatever our state: malformed, forged, not ours, or a body
 * that does not open for us. Only these are acknowledged (deleted at the cafe) without storing.
 */
export const PROVEN_INVALID = new Set<Reason>(['INVALID_ENVELOPE', 'BAD_SIGNATURE', 'UNKNOWN_RECIPIENT', 'DECRYPTION_FAILED'])

export interface ReceivedMessage { id: string, from: string, body: string, created: string, received: string }

export interface Received extends ReceivedMessage { n?: number, key: string }
/** An undelivered message (or receipt); `seq` keeps the order messages to one recipient were sent in. */
export interface Outgoing { key: string, seq: number, envelope: Envelope, attempts: number, notBefore: number, receipt?: true }

/**
 * The outbox's queue a job waits in: messages to one recipient in order, and receipts to it in
 * a queue of their own, so a receipt still on its way never holds back a message (nor the
 * reverse). `send` looks only at the messages' queue to decide whether a new one must wait.
 */
export const queueOf = (job: Outgoing): string => job.receipt === true ? receiptQueue(job.envelope.to) : job.envelope.to
export const receiptQueue = (to: string): string => `receipts ${to}`

/** Whether this device tells senders it read their messages (off by default). */
export interface ReceiptSettings { readReceipts: boolean }

/** What became of one envelope given to receiveMany. */
export type ReceiveOutcome = { fresh: boolean } | { error: unknown }

/** An envelope ready to keep: verified, for us, opened (or a receipt for messages this device sent). */
export interface Prepared { record: Received, size: number, unsolicitedIfDirect: boolean, receipt?: Receipt }

/** A message by its name in an acknowledgement: sender and id, as it is stored. */
export type MessageRef = Pick<Envelope, 'from' | 'id'>

export interface Unsolicited { count: number, bytes: number }

export interface MessagesDB extends DBSchema {
  received: { key: number, value: Received, indexes: { key: string } }
  contacts: { key: string, value: Contact }
  outgoing: { key: string, value: Outgoing, indexes: { seq: number } }
  /** 'me': this account's contact; 'read': the last read `n`; 'unsolicited': the budget used since; 'receipts': ReceiptSettings. */
  profile: { key: string, value: Contact | number | Unsolicited | ReceiptSettings }
  /** Version 2: the messages this device sent and how far each got (receipts.ts). */
  sent: { key: string, value: SentRecord, indexes: { created: string } }
}

export async function openMessagesDb (name: string): Promise<IDBPDatabase<MessagesDB>> {
  return openDB<MessagesDB>(name, 2, {
    upgrade (db, old) {
      if (old < 1) {
        db.createObjectStore('received', { keyPath: 'n', autoIncrement: true }).createIndex('key', 'key', { unique: true })
        db.createObjectStore('contacts', { keyPath: 'address' })
        db.createObjectStore('outgoing', { keyPath: 'key' }).createIndex('seq', 'seq')
        db.createObjectStore('profile')
      }
      if (old < 2) db.createObjectStore('sent', { keyPath: 'id' }).createIndex('created', 'created')
    }
  })
}
