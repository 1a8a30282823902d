import { AnswerMerger } from '../search/merge.ts'
import { SEARCH_LIMITS, parseQuery } from '../search/query.ts'
import { InvalidInputError } from '../shared/errors.ts'
import type { Contact } from '../contacts/index.ts'
import type { AbortOptions } from '@libp2p/interface'

/** Peer ids (52 characters) sent in a query's `visited`: 56 of them keep the body well inside 4 KiB. */
const MAX_VISITED_SENT = 56

export interface SearchDeps {
  /** Cafes known through the relays' directories (and this account's own cafes). */
  cafes: () => Promise<string[]>
  /** Asks one cafe (POST /cafe/v1/search); resolves with its JSON answer. */
  ask: (cafe: string, query: Record<string, unknown>, options: AbortOptions) => Promise<unknown>
  /** This peer's own peer id: a cafe does not ask itself over the network. */
  self: string
  /** This peer's own index, when it is a cafe. */
  local?: (name: string, limit: number) => unknown[]
}

export interface SearchUpdate { cafe: string, added: Contact[], ignored: boolean }

export interface SearchOutcome {
  results: Array<{ contact: Contact, score: number, cafes: string[] }>
  asked: number
  answered: string[]
  ignored: string[]
  timedOut: string[]
  ms: number
}

/**
 * A network-wide contact search: the query goes to every cafe the relays know, in parallel,
 * with one hop of forwarding; answers are verified and merged as they arrive (`onUpdate` sees
 * each), and what arrived before `wait` ms is the answer. A cafe that sends one forged
 * contact is ignored for the whole query.
 */
export async function searchContacts (deps: SearchDeps, input: { name?: unknown, limit?: unknown, wait?: unknown }, onUpdate?: (u: SearchUpdate) => void): Promise<SearchOutcome> {
  const q = parseQuery({ name: input.name, limit: input.limit, hops: 1 })
  const waitMs = input.wait == null || input.wait === '' ? SEARCH_LIMITS.defaultWaitMs : Number(input.wait)
  if (!Number.isInteger(waitMs) || waitMs < 0 || waitMs > SEARCH_LIMITS.maxWaitMs) throw new InvalidInputError('INVALID_FIELD', `wait must be 0 to ${SEARCH_LIMITS.maxWaitMs} ms`)
  const started = Date.now()
  const merger = new AnswerMerger()
  const answered: string[] = []
  const ignored: string[] = []
  // Signatures checked by WebCrypto: 6 cafes' answers arrive together, and noble's check of
  // each contact held the main thread ~2.4 ms, in front of the dials still under way.
  const take = async (cafe: string, results: unknown): Promise<void> => {
    const r = await merger.add(cafe, Array.isArray(results) ? results : [null])
    if (r.ignored) ignored.push(cafe)
    onUpdate?.({ cafe, added: r.added, ignored: r.ignored })
  }
  if (deps.local != null) { await take(deps.self, deps.local(q.name, q.limit)); answered.push(deps.self) }

  const deadline = AbortSignal.timeout(Math.max(1, waitMs))
  const cafes = (await deps.cafes().catch(() => [])).filter(c => c !== deps.self)
  const visited = [deps.self, ...cafes]
  // What fits a cafe's 4 KiB query body; a cafe asked twice answers the query once (by its id).
  const sentVisited = visited.slice(0, MAX_VISITED_SENT)
  const pending = new Set(cafes)
  await new Promise<void>(resolve => {
    if (cafes.length === 0) { resolve(); return }
    deadline.addEventListener('abort', () => { resolve() }, { once: true })
    for (const cafe of cafes) {
      deps.ask(cafe, { id: q.id, name: q.name, limit: q.limit, hops: q.hops, visited: sentVisited, wait: waitMs }, { signal: deadline })
        .then(async answer => {
          if (deadline.aborted) return
          const a = answer as { results?: unknown, forwarded?: unknown }
          // Answers forwarded by this cafe, attributed to the cafes that gave them.
          const forwarded = Array.isArray(a?.forwarded) ? a.forwarded.slice(0, 100) as Array<{ cafe?: unknown, results?: unknown }> : []
          await Promise.all([
            take(cafe, a?.results),
            ...forwarded.map(async fa => { if (typeof fa?.cafe === 'string' && !visited.includes(fa.cafe)) await take(fa.cafe, fa.results) })
          ])
          // Checked after the deadline: too late for this query's answer, as before.
          if (!deadline.aborted) answered.push(cafe)
        }, () => { /* gone or refused: it simply does not answer */ })
        .finally(() => {
          pending.delete(cafe)
          if (pending.size === 0) resolve()
        })
    }
  })
  return { results: merger.results(q.limit), asked: cafes.length, answered, ignored, timedOut: [...pending], ms: Date.now() - started }
}

export interface WarmDeps {
  /** The cafes a search would ask (as SearchDeps.cafes). */
  cafes: () => Promise<string[]>
  /** Opens a connection to one cafe (any cheap request); rejects when it cannot. */
  dial: (cafe: string, options: AbortOptions) => Promise<void>
  self: string
}

/** How long a warm-up may take: a dial that has not connected by then is left to the search. */
export const WARM_TIMEOUT_MS = 5_000

/**
 * Dials every cafe a search would ask, all at once, so the query itself finds connections
 * open: the first WebRTC dial to a cafe (signalling through the relay, ICE, DTLS, Noise) is
 * most of a cold query's time. Called as the search box opens, while the user types.
 */
export async function warmCafes (deps: WarmDeps, timeoutMs = WARM_TIMEOUT_MS): Promise<{ cafes: number, reached: number }> {
  const signal = AbortSignal.timeout(timeoutMs)
  const cafes = (await deps.cafes().catch(() => [])).filter(c => c !== deps.self)
  const reached = await Promise.all(cafes.map(async c => deps.dial(c, { signal }).then(() => true, () => false)))
  return { cafes: cafes.length, reached: reached.filter(Boolean).length }
}
