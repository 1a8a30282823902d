import { jsonMessages } from '../json-messages.ts'
import type { JsonMessages } from '../json-messages.ts'
import type { Reason } from '../../shared/reasons.ts'
import type { Stream } from '@libp2p/interface'

/**
 * "Tell me when this peer is back": a peer that could not reach another (offline, or its
 * network cut) asks its relays to answer as soon as that peer holds a reservation again and is
 * connected there, so its outboxes try at once instead of waiting out their backoff. One JSON
 * request (`{peer, sinceMs}`: the peer id, and how long ago the asker last failed to reach it,
 * so a return in between is answered at once) and one JSON answer (`{back: true}`; `{back:
 * false}` when the watch ran out and may be asked again; `{error}`) per stream.
 */
export const RETURN_PROTOCOL = '/lightcafe/peer-return/1.0.0'

export const RETURN_LIMITS = {
  /** One watch lasts at most this long; the asker asks again while it still waits. */
  watchMs: 5 * 60_000,
  /** Watches one connection may hold at once (one stream each). */
  maxPerConnection: 32,
  /** Watches a relay holds in all; past it new ones are refused (`WATCH_FULL`). */
  maxWatches: 8192,
  /**
   * Watches held for one source address (IPv4 address, IPv6 /64), over all its connections
   * (peer ids cost nothing): 8 connections' worth, so 32 addresses, not 256 connections, fill it.
   */
  maxPerSource: 256,
  /** Returns remembered (peer → when it connected last), for askers who failed a moment ago. */
  maxArrivals: 8192,
  /** The furthest back an asker may ask about. */
  maxSinceMs: 60_000,
  /** After a watched peer connects, how long its reservation is waited for. */
  reserveWaitMs: 10_000,
  /** How often a new connection's reservation is looked for meanwhile. */
  reservePollMs: 100,
  maxMessageBytes: 1024,
  /** The request must arrive this soon after the stream opens. */
  requestTimeoutMs: 5_000
} as const

export type ReturnAnswer = { back: boolean } | { error: Extract<Reason, 'WATCH_FULL' | 'INVALID_PEER'> }

/** One length-prefixed JSON message each way, each within RETURN_LIMITS.maxMessageBytes. */
export function messages (stream: Stream): JsonMessages { return jsonMessages(stream, RETURN_LIMITS.maxMessageBytes) }
