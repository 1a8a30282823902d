import { jsonMessages } from '../json-messages.ts'
import type { JsonMessages } from '../json-messages.ts'
import type { Stream } from '@libp2p/interface'

/**
 * How cafes find each other: each relay keeps a small directory of the cafes connected to it.
 * A cafe announces itself (its peer id is the one Noise authenticated, so nobody can announce
 * another) and refreshes before the entry expires; anyone may list. One JSON request and one
 * JSON answer per stream.
 */
export const DIRECTORY_PROTOCOL = '/lightcafe/cafes/1.0.0'

export const DIRECTORY_LIMITS = {
  /** An entry lives this long unless refreshed: a cafe that went away drops out by itself. */
  ttlMs: 3 * 60_000,
  /** Cafes refresh this often. */
  announceEveryMs: 60_000,
  /**
   * Entries a relay keeps. When full a new cafe is refused (DIRECTORY_FULL) until one expires,
   * leaves or disconnects: entries already there, refreshed ones above all, are never pushed
   * out by newcomers, so minting peer ids cannot evict real cafes.
   */
  maxEntries: 1000,
  /**
   * Entries listed from one source address (an IPv4 address, an IPv6 /64: sourceOf; behind a
   * trusted proxy the client it names; loopback only exempt on `npm start`'s relay). Peer ids are free to
   * mint, addresses are not: one host lists at most this many cafes (TOO_MANY_LISTINGS), so
   * filling the directory takes 125 addresses, not 5 peer ids a second from one.
   */
  maxPerAddress: 8,
  maxMessageBytes: 64 * 1024,
  timeoutMs: 5_000
} as const

export type DirectoryOp = 'announce' | 'leave' | 'list'

/** A relay's answer: `{ok, ttlMs}` to an announce, `{ok}` to a leave, `{cafes}` to a list, or `{error, retryMs?}`. */
export type DirectoryAnswer = Record<string, unknown>

/** One JSON message each way on a stream, each within DIRECTORY_LIMITS.maxMessageBytes. */
export function messages (stream: Stream): JsonMessages { return jsonMessages(stream, DIRECTORY_LIMITS.maxMessageBytes) }
