import { TypedEventEmitter } from 'main-event'
import { InvalidInputError } from '../shared/errors.ts'

/**
 * The cafe's live activity log for its owner: what clients and strangers asked of it
 * (registrations, pins, snapshots, deliveries, collections, contacts, queries) and how it
 * answered. Entries come from the cafe API's requests, refusals included: a burst of 429s or
 * 401s is exactly what an owner wants to see. Kept in memory, newest last, bounded.
 */

export const ACTIVITY_KINDS = ['registration', 'pin', 'snapshot', 'delivery', 'collect', 'contact', 'query'] as const
export type ActivityKind = typeof ACTIVITY_KINDS[number]

export interface Activity {
  seq: number
  at: string
  kind: ActivityKind
  /** The request, e.g. `POST /pins`. */
  what: string
  /** The caller: its account when it had a session, else its peer id; absent for this device. */
  who?: string
  status: number
  ms: number
}

export const ACTIVITY_LIMITS = { keep: 1000, maxList: 500, maxText: 64 } as const

/** Which requests the log shows, by method and path under /cafe/v1 (reads and refreshes are noise). */
export function activityKind (method: string, path: string): ActivityKind | undefined {
  const p = path.replace(/^\/cafe\/v1/, '')
  if (p === '/sessions' && (method === 'POST' || method === 'DELETE')) return 'registration'
  if ((p === '/uploads' || p.startsWith('/pins')) && (method === 'POST' || method === 'DELETE')) return 'pin'
  if (p.startsWith('/snapshots/') && (method === 'PUT' || method === 'DELETE')) return 'snapshot'
  if ((p === '/inbox' || p === '/inbox/batch') && method === 'POST') return 'delivery'
  if ((p === '/inbox' && method === 'GET') || p === '/inbox/ack') return 'collect'
  if (p === '/contacts' && method === 'PUT') return 'contact'
  if (p === '/search' && method === 'POST') return 'query'
  return undefined
}

export interface ActivityFilter { kinds?: ActivityKind[], text?: string, after?: number, limit?: number }

/** Parses `?kind=pin,query&q=&after=&limit=` into a filter; unknown kinds are an error, not ignored. */
export function parseActivityFilter (params: URLSearchParams): ActivityFilter {
  const filter: ActivityFilter = {}
  const kind = params.get('kind')
  if (kind != null && kind !== '') {
    const kinds = kind.split(',')
    for (const k of kinds) if (!(ACTIVITY_KINDS as readonly string[]).includes(k)) throw new InvalidInputError('INVALID_FIELD', `kind must be among ${ACTIVITY_KINDS.join(', ')}`)
    filter.kinds = kinds as ActivityKind[]
  }
  const q = params.get('q')
  if (q != null && q !== '') {
    if (q.length > ACTIVITY_LIMITS.maxText) throw new InvalidInputError('INVALID_FIELD', `q is at most ${ACTIVITY_LIMITS.maxText} characters`)
    filter.text = q
  }
  for (const name of ['after', 'limit'] as const) {
    const v = params.get(name)
    if (v == null) continue
    const n = Number(v)
    if (!Number.isSafeInteger(n) || n < 0) throw new InvalidInputError('INVALID_FIELD', `${name} must be a whole number`)
    filter[name] = n
  }
  return filter
}

/** What the log tells: each request as it is recorded. */
export interface ActivityLogEvents { activity: CustomEvent<Activity> }

export class ActivityLog extends TypedEventEmitter<ActivityLogEvents> {
  readonly #entries: Activity[] = []
  readonly #counts = new Map<ActivityKind, number>()
  readonly #now: () => number
  #seq = 0

  constructor (now: () => number = Date.now) {
    super()
    this.#now = now
  }

  record (a: Omit<Activity, 'seq' | 'at'>): Activity {
    const entry: Activity = { seq: ++this.#seq, at: new Date(this.#now()).toISOString(), ...a }
    this.#entries.push(entry)
    if (this.#entries.length > ACTIVITY_LIMITS.keep) this.#entries.splice(0, this.#entries.length - ACTIVITY_LIMITS.keep)
    this.#counts.set(a.kind, (this.#counts.get(a.kind) ?? 0) + 1)
    this.safeDispatchEvent('activity', { detail: entry })
    return entry
  }

  /** Newest first, matching every part of the filter. */
  list (f: ActivityFilter = {}): Activity[] {
    const text = f.text?.toLowerCase()
    const limit = Math.min(f.limit ?? 100, ACTIVITY_LIMITS.maxList)
    const out: Activity[] = []
    for (let i = this.#entries.length - 1; i >= 0 && out.length < limit; i--) {
      const e = this.#entries[i]
      if (f.after != null && e.seq <= f.after) break
      if (f.kinds != null && !f.kinds.includes(e.kind)) continue
      if (text != null && !`${e.what} ${e.who ?? ''} ${e.status}`.toLowerCase().includes(text)) continue
      out.push(e)
    }
    return out
  }

  /** Entries kept (at most ACTIVITY_LIMITS.keep). */
  get size (): number { return this.#entries.length }

  /** Requests of each kind since this page started (not only those still kept). */
  counts (): Record<ActivityKind, number> {
    return Object.fromEntries(ACTIVITY_KINDS.map(k => [k, this.#counts.get(k) ?? 0])) as Record<ActivityKind, number>
  }
}
