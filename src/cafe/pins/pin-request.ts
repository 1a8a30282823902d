import { multiaddr } from '@multiformats/multiaddr'
import { parseCid } from '../../ipfs/cid.ts'
import { InvalidInputError, LightcafeError } from '../../shared/errors.ts'
import { PIN_LIMITS } from './limits.ts'
import type { PinRecord, PinState } from './pin-store.ts'
import type { CID } from 'multiformats/cid'

// The IPFS Pinning Service API's shapes (https://ipfs.github.io/pinning-services-api-spec/):
// what a request may carry, validated before anything is stored, and what a pin looks like
// to the client.

/** A validated pin object. */
export interface PinObject { cid: CID, name?: string, origins: string[], meta: Record<string, string> }

function field (name: string, v: unknown, max: number): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max) throw new InvalidInputError('INVALID_FIELD', `${name} must be a string of 1 to ${max} characters`)
  return v
}

/** Validates a Pinning Service API pin object. */
export function parsePinObject (body: Record<string, unknown>): PinObject {
  const cid = parseCid(field('cid', body.cid, 256))
  const name = body.name === undefined ? undefined : field('name', body.name, PIN_LIMITS.maxNameLength)
  const origins = body.origins === undefined ? [] : body.origins
  if (!Array.isArray(origins) || origins.length > PIN_LIMITS.maxOrigins) throw new InvalidInputError('INVALID_FIELD', `origins must be an array of at most ${PIN_LIMITS.maxOrigins} multiaddrs`)
  for (const o of origins) originPeer(o)
  return { cid, name, origins: origins as string[], meta: parseMeta(body.meta) }
}

/**
 * The peer an origin names. An origin is only ever used for its peer id: the cafe reaches that
 * peer through its own libp2p transports (its relays, WebRTC), never by dialling the address's
 * host, so a stranger's pin cannot make a cafe tab open connections to hosts on its LAN.
 */
export function originPeer (origin: unknown): string {
  let peer: string | undefined
  try { peer = multiaddr(field('origin', origin, PIN_LIMITS.maxOriginLength)).getComponents().findLast(c => c.name === 'p2p')?.value } catch {
    throw new InvalidInputError('INVALID_ORIGIN', `not a multiaddr: ${String(origin).slice(0, 100)}`)
  }
  if (peer == null || peer === '') throw new InvalidInputError('INVALID_ORIGIN', `an origin must end with /p2p/<peer id>: ${String(origin).slice(0, 100)}`)
  return peer
}

/** `meta` given as JSON text (a query parameter). */
export function parseMetaJson (text: string): Record<string, string> {
  try { return parseMeta(JSON.parse(text)) } catch (err) {
    if (err instanceof LightcafeError) throw err
    throw new InvalidInputError('INVALID_FIELD', 'meta must be a JSON object of strings')
  }
}

export function parseMeta (meta: unknown): Record<string, string> {
  if (meta === undefined || meta === null) return {}
  if (typeof meta !== 'object' || Array.isArray(meta) || !Object.values(meta).every(v => typeof v === 'string')) {
    throw new InvalidInputError('INVALID_FIELD', 'meta must be an object of string values')
  }
  if (new TextEncoder().encode(JSON.stringify(meta)).byteLength > PIN_LIMITS.maxMetaBytes) throw new InvalidInputError('META_TOO_LARGE', `meta is limited to ${PIN_LIMITS.maxMetaBytes} bytes of JSON`)
  return { ...meta as Record<string, string> }
}

/** The Pinning Service API's PinStatus object. */
export interface PinStatus {
  requestid: string
  status: PinState
  created: string
  pin: { cid: string, name?: string, origins: string[], meta: Record<string, string> }
  delegates: string[]
  info: Record<string, string>
}

/** A pin's status as clients see it: one whose blocks the cafe lost is not pinned, it failed. */
export function shownStatus (r: PinRecord): PinState {
  return r.status === 'pinned' && r.lost != null ? 'failed' : r.status
}

/** A pin record as the API shows it; `delegates` are the cafe's multiaddrs. */
export function pinStatus (r: PinRecord, delegates: string[]): PinStatus {
  const info: Record<string, string> = { bytes: String(r.bytes) }
  if (r.error != null) { info.reason = r.error.reason; info.details = r.error.details }
  if (r.status === 'pinned' && r.lost != null) {
    info.reason = 'BLOCKS_LOST'
    info.details = `this cafe lost ${r.lost.count} block(s) of the DAG from its storage (found ${r.lost.at}); upload it again (only the missing blocks are needed)`
    info.lost = String(r.lost.count)
  }
  return {
    requestid: r.requestid,
    status: shownStatus(r),
    created: r.created,
    pin: { cid: r.cid, ...(r.name != null ? { name: r.name } : {}), origins: r.origins, meta: r.meta },
    delegates,
    info
  }
}

/** A list query (`GET /pins`), checked: which of a client's pins it asks for, and how many. */
export interface PinFilter {
  statuses: PinState[]
  cids?: string[]
  /** Times (ms) the pins were created before or after. */
  before?: number
  after?: number
  name?: string
  match: 'exact' | 'iexact' | 'partial' | 'ipartial'
  meta?: Record<string, string>
  limit: number
}

const STATES: readonly PinState[] = ['queued', 'pinning', 'pinned', 'failed']
const MATCHES: ReadonlyArray<PinFilter['match']> = ['exact', 'iexact', 'partial', 'ipartial']

/** Checks a list query's filters (at the route). */
export function parsePinQuery (q: URLSearchParams): PinFilter {
  const csv = (k: string): string[] | undefined => q.get(k)?.split(',').map(s => s.trim()).filter(s => s !== '')
  // The spec: "when no filter is provided, only successful pins are returned"; any filter
  // (cid, name, before, after, meta) without a status searches every status.
  const filtered = ['cid', 'name', 'before', 'after', 'meta'].some(k => q.get(k) != null)
  const statuses = csv('status') ?? (filtered ? [...STATES] : ['pinned'])
  for (const s of statuses) if (!STATES.includes(s as PinState)) throw new InvalidInputError('INVALID_STATUS', `unknown status ${s.slice(0, 20)}`)
  const cids = csv('cid')?.map(c => parseCid(c).toString())
  if (cids != null && cids.length > PIN_LIMITS.maxCidFilter) throw new InvalidInputError('INVALID_FIELD', `at most ${PIN_LIMITS.maxCidFilter} cids per query`)
  const limitText = q.get('limit')
  const limit = limitText == null ? PIN_LIMITS.defaultLimit : Number(limitText)
  if (!Number.isInteger(limit) || limit < 1 || limit > PIN_LIMITS.maxLimit) throw new InvalidInputError('INVALID_FIELD', `limit must be 1 to ${PIN_LIMITS.maxLimit}`)
  const time = (k: string): number | undefined => {
    const v = q.get(k)
    if (v == null) return undefined
    const t = Date.parse(v)
    if (Number.isNaN(t)) throw new InvalidInputError('INVALID_FIELD', `${k} must be an ISO-8601 time`)
    return t
  }
  const before = time('before')
  const after = time('after')
  const name = q.get('name')
  const match = q.get('match') ?? 'exact'
  if (!MATCHES.includes(match as PinFilter['match'])) throw new InvalidInputError('INVALID_FIELD', 'match must be exact, iexact, partial or ipartial')
  const metaText = q.get('meta')
  const meta = metaText == null ? undefined : parseMetaJson(metaText)
  return {
    statuses: statuses as PinState[],
    limit,
    match: match as PinFilter['match'],
    ...(cids != null ? { cids } : {}),
    ...(before != null ? { before } : {}),
    ...(after != null ? { after } : {}),
    ...(name != null ? { name } : {}),
    ...(meta != null ? { meta } : {})
  }
}

/** Whether a pin is one a filter asks for. */
export function pinMatcher (f: PinFilter): (p: PinRecord) => boolean {
  const nameOk = (n: string | undefined): boolean => {
    if (f.name == null) return true
    if (n == null) return false
    switch (f.match) {
      case 'exact': return n === f.name
      case 'iexact': return n.toLowerCase() === f.name.toLowerCase()
      case 'partial': return n.includes(f.name)
      default: return n.toLowerCase().includes(f.name.toLowerCase())
    }
  }
  return p => f.statuses.includes(shownStatus(p)) &&
    (f.cids == null || f.cids.includes(p.cid)) &&
    (f.before == null || Date.parse(p.created) < f.before) &&
    (f.after == null || Date.parse(p.created) > f.after) &&
    nameOk(p.name) &&
    (f.meta == null || Object.entries(f.meta).every(([k, v]) => p.meta[k] === v))
}
