import { peerIdFromString } from '@libp2p/peer-id'
import { fromBase64url, toBase64url } from '../shared/bytes.ts'
import { InvalidInputError, LightcafeError } from '../shared/errors.ts'
import type { Reason } from '../shared/reasons.ts'

/**
 * Field checks shared by signed records (contacts, envelopes). Each returns the value in its
 * one canonical form or throws InvalidInputError with the caller's reason, so a record has
 * exactly one accepted encoding and what was signed is what is stored.
 */

/** A signed record whose signature is not by the address it names. */
export class BadSignatureError extends LightcafeError {
  static override name = 'BadSignatureError'
  override name = 'BadSignatureError'
  constructor (details: string) { super('BAD_SIGNATURE', details) }
}

/** A plain JSON object with exactly these keys: unsigned extra fields would ride along unchecked. */
export function exactObject (reason: Reason, what: string, value: unknown, keys: readonly string[]): Record<string, unknown> {
  if (value == null || typeof value !== 'object' || Array.isArray(value)) throw new InvalidInputError(reason, `${what} must be an object`)
  const record = value as Record<string, unknown>
  const present = Object.keys(record)
  for (const key of present) {
    if (!keys.includes(key)) throw new InvalidInputError(reason, `${what} has an unknown field "${key.slice(0, 32)}"`)
  }
  for (const key of keys) {
    if (!Object.hasOwn(record, key)) throw new InvalidInputError(reason, `${what} is missing "${key}"`)
  }
  return record
}

/** base64url (no padding) of exactly `bytes` bytes, in canonical form (no stray trailing bits). */
export function base64urlOf (reason: Reason, name: string, value: unknown, bytes: number): Uint8Array {
  const chars = Math.ceil(bytes * 4 / 3)
  if (typeof value !== 'string' || value.length !== chars) throw new InvalidInputError(reason, `${name} must be ${chars} base64url characters`)
  let decoded: Uint8Array
  try { decoded = fromBase64url(value) } catch { throw new InvalidInputError(reason, `${name} is not base64url`) }
  if (decoded.length !== bytes || toBase64url(decoded) !== value) throw new InvalidInputError(reason, `${name} is not canonical base64url of ${bytes} bytes`)
  return decoded
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

/**
 * A UTC timestamp exactly as Date.prototype.toISOString writes it (so one instant has one
 * spelling), no further than `maxFutureMs` ahead of `now`: a record dated far ahead would
 * otherwise win every "which is newer" comparison for years. Returns the time in ms.
 */
export function isoTimestamp (reason: Reason, name: string, value: unknown, now: number, maxFutureMs: number): number {
  if (typeof value !== 'string' || !ISO.test(value)) throw new InvalidInputError(reason, `${name} must be an ISO-8601 UTC time like 2025-01-31T12:00:00.000Z`)
  const ms = Date.parse(value)
  // Date.parse rolls 2025-02-30 over to March; the round trip catches it.
  if (!Number.isFinite(ms) || new Date(ms).toISOString() !== value) throw new InvalidInputError(reason, `${name} is not a real date`)
  if (ms > now + maxFutureMs) throw new InvalidInputError(reason, `${name} is in the future`)
  return ms
}

/**
 * An Ed25519 libp2p peer id (every Lightcafe node and relay key is Ed25519) in its canonical
 * string form, what PeerId.toString() gives: "12D3KooW…". Other kinds are refused, among them
 * URL "peer ids", which would let a record carry arbitrary text.
 */
export function peerIdString (reason: Reason, name: string, value: unknown, maxLength: number): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength) throw new InvalidInputError(reason, `${name} must be a peer id of at most ${maxLength} characters`)
  let canonical: string
  let type: string
  try {
    const peer = peerIdFromString(value)
    canonical = peer.toString()
    type = peer.type
  } catch { throw new InvalidInputError(reason, `${name} is not a peer id`) }
  if (type !== 'Ed25519') throw new InvalidInputError(reason, `${name} is not an Ed25519 peer id`)
  if (canonical !== value) throw new InvalidInputError(reason, `${name} is not a peer id in canonical form`)
  return value
}

/** A list of distinct peer ids, at most `max` of them. */
export function peerIdList (reason: Reason, name: string, value: unknown, max: number, maxLength: number): string[] {
  if (!Array.isArray(value)) throw new InvalidInputError(reason, `${name} must be an array of peer ids`)
  if (value.length > max) throw new InvalidInputError(reason, `${name} holds at most ${max} peer ids`)
  const ids = value.map((v, i) => peerIdString(reason, `${name}[${i}]`, v, maxLength))
  if (new Set(ids).size !== ids.length) throw new InvalidInputError(reason, `${name} lists a peer id twice`)
  return ids
}
