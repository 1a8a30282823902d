import { SeenIds } from '../shared/seen-ids.ts'
import { fromBase64url, randomBytes, toBase64url } from '../shared/bytes.ts'
import { InvalidInputError } from '../shared/errors.ts'
import type { Reason } from '../shared/reasons.ts'

export const SEARCH_LIMITS = {
  /** Query length in Unicode code points: a name is at most 64 (CONTACT_LIMITS.maxNameChars). */
  maxQueryChars: 64,
  /** Results per answer, from one cafe and merged. */
  maxLimit: 50,
  defaultLimit: 20,
  /** How far a query is passed on from cafe to cafe: one hop, so a query costs at most 1 + SEARCH_FANOUT.maxTargets requests. */
  maxHops: 1,
  /** Not in the brief's list: a search asks the cafe it is sent to and the cafes that cafe knows. */
  defaultHops: 1,
  /** How long a searcher waits for answers. */
  maxWaitMs: 10_000,
  defaultWaitMs: 2_000,
  /** Query ids remembered, so a query coming back round a loop of cafes is answered once. */
  maxSeenQueries: 10_000,
  /** Answers one cafe passes on with its own (it forwards to at most SEARCH_FANOUT.maxTargets): more in an answer are not read. */
  maxForwardedPerAnswer: 8,
  /**
   * Contacts one search verifies at most, by class: the answers of the cafes it asked itself
   * and its own (17 answers × 50: never short), and those passed on by them (the directory's
   * cafes first). Twelve fake cafes sending ~2,900 signed contacts each made a real cafe's
   * answer miss the deadline; what is over the budget is skipped unverified.
   */
  maxVerifiedDirect: 850,
  maxVerifiedForwarded: 1_200
} as const

/** A query id: 16 random bytes, base64url. */
const ID_BYTES = 16
const ID_CHARS = 22
const CONTROL = /[\p{Cc}\p{Zl}\p{Zp}\p{Cs}]/u

export interface SearchQuery {
  /** Names this query as it travels between cafes, so each answers it once. */
  readonly id: string
  /** Trimmed, 1 to maxQueryChars code points. */
  readonly name: string
  readonly limit: number
  /** How many more times the query may be passed on; 0 = answer from this cafe only. */
  readonly hops: number
  readonly waitMs: number
}

export interface QueryInput { name?: unknown, limit?: unknown, hops?: unknown, id?: unknown, wait?: unknown }

/**
 * Checks a search request from a client or another cafe (JSON or URL parameters, so numbers
 * may come as digit strings). Absent limit, hops and wait take defaults; an absent id is made.
 * Throws InvalidInputError: INVALID_QUERY, INVALID_LIMIT, INVALID_HOPS, INVALID_WAIT, INVALID_QUERY_ID.
 */
export function parseQuery (input: QueryInput): SearchQuery {
  return {
    id: input.id === undefined ? newQueryId() : queryId(input.id),
    name: queryName(input.name),
    limit: integer('INVALID_LIMIT', 'limit', input.limit, 1, SEARCH_LIMITS.maxLimit, SEARCH_LIMITS.defaultLimit),
    hops: integer('INVALID_HOPS', 'hops', input.hops, 0, SEARCH_LIMITS.maxHops, SEARCH_LIMITS.defaultHops),
    waitMs: integer('INVALID_WAIT', 'wait', input.wait, 0, SEARCH_LIMITS.maxWaitMs, SEARCH_LIMITS.defaultWaitMs)
  }
}

export function newQueryId (): string { return toBase64url(randomBytes(ID_BYTES)) }

function queryId (value: unknown): string {
  const bad = (): InvalidInputError => new InvalidInputError('INVALID_QUERY_ID', `id must be ${ID_CHARS} base64url characters (${ID_BYTES} bytes)`)
  if (typeof value !== 'string' || value.length !== ID_CHARS) throw bad()
  let bytes: Uint8Array
  try { bytes = fromBase64url(value) } catch { throw bad() }
  // One spelling per id: otherwise a query could loop under variants that differ in unused bits.
  if (bytes.length !== ID_BYTES || toBase64url(bytes) !== value) throw bad()
  return value
}

function queryName (value: unknown): string {
  const max = SEARCH_LIMITS.maxQueryChars
  // Bound the raw length before trimming or counting: whitespace padding is not free to scan.
  if (typeof value !== 'string' || value.length > max * 4) throw new InvalidInputError('INVALID_QUERY', `name must be a string of 1 to ${max} characters`)
  const name = value.trim()
  const chars = [...name].length
  if (chars === 0 || chars > max) throw new InvalidInputError('INVALID_QUERY', `name must be 1 to ${max} characters`)
  if (CONTROL.test(name)) throw new InvalidInputError('INVALID_QUERY', 'name must not contain control characters')
  return name
}

function integer (reason: Reason, what: string, value: unknown, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback
  const n = typeof value === 'string' && /^\d{1,6}$/.test(value) ? Number(value) : value
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) throw new InvalidInputError(reason, `${what} must be a whole number from ${min} to ${max}`)
  return n
}

/**
 * Query ids a cafe has seen, so a query reaching it again by another path is neither answered
 * nor passed on twice. Bounded: past `max` the id seen longest ago is forgotten (a query lives
 * for seconds, far shorter than 10,000 queries take to arrive at any plausible rate).
 */
export class SeenQueries {
  readonly #ids: SeenIds
  constructor (max: number = SEARCH_LIMITS.maxSeenQueries) { this.#ids = new SeenIds(max) }

  /** True the first time an id is given (and records it); false while it is remembered. */
  firstTime (id: string): boolean {
    const first = !this.#ids.has(id)
    this.#ids.add(id)
    return first
  }

  get size (): number { return this.#ids.size }
}
