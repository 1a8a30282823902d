import { CafeApi, PeerApi, bareCall } from '../cafe-api.ts'
import { MESSAGE_LIMITS } from './model.ts'
import type { MessageLimits, MessagesDB, MessagesInit, Outgoing, ReceiveProblem } from './model.ts'
import type { Outbox } from '../outbox.ts'
import type { IDBPDatabase } from 'idb'

/** The account's X25519 key pair that opens the boxes sealed to it. */
export interface BoxPair { publicKey: Uint8Array, secretKey: Uint8Array }

/** What a message sent last came to, until its sent record takes it (sent.ts). */
export interface Progress { state: 'stored' | 'delivered', cafes: string[] }

/**
 * What the Messages service's jobs share (Helia's shape: a thin class in front, each job a
 * function of these): its records, bounds, outbox, and the state the page reads.
 */
export interface MessagesComponents {
  readonly init: MessagesInit
  readonly db: Promise<IDBPDatabase<MessagesDB>>
  readonly now: () => number
  readonly limits: MessageLimits
  /** Undelivered messages, in order per recipient, retried with backoff (the `outgoing` store). */
  readonly outbox: Outbox<Outgoing>
  /** Peer id → until when it counts as unreachable (a burst to an offline peer must not dial it 200 times). */
  readonly unreachable: Map<string, number>
  /** What the last attempt at each message came to (send.ts), until its sent record takes it (sent.ts). */
  readonly progress: Map<string, Progress>
  /**
   * What the page shows: why the last delivery attempt to a peer or cafe failed, and why
   * messages wait at a cafe because this device could not keep them.
   */
  readonly status: { lastFailure?: string, receiveProblem?: ReceiveProblem }
  /** The account's box key pair, derived once per account (a drain opens hundreds of boxes). */
  box: () => BoxPair
  /** An increasing number: the order messages to one recipient go in. */
  seq: () => number
  /** Tells the page: a message arrived, a sent one moved on, the profile changed. */
  tell: (event: 'message' | 'sent' | 'profile') => void
  /** Collects again later, once (messages left at a cafe this device could not keep yet). */
  collectLater: () => void
}

/** This account's cafes with a live session. */
export async function activeCafes (c: MessagesComponents): Promise<string[]> {
  return (await c.init.client.list()).filter(s => s.ended == null).map(s => s.id)
}

/** Any cafe's API with no session (a contact's inbox cafes, for delivery and lookup): one attempt each call, bounded. */
export function cafeApi (c: MessagesComponents, id: string): CafeApi {
  return new CafeApi(bareCall(c.init.transport, id, () => ({ signal: AbortSignal.timeout(MESSAGE_LIMITS.attemptTimeoutMs) })), id)
}

/** A peer's own API; `redialAbsent`: false for a recipient's own peer, which may just be offline (see TransportOptions). */
export function peerApi (c: MessagesComponents, id: string, redialAbsent = true): PeerApi {
  return new PeerApi(bareCall(c.init.transport, id, () => ({ signal: AbortSignal.timeout(MESSAGE_LIMITS.attemptTimeoutMs), redialAbsent })), id)
}
