import { AnswerMerger } from '../search/merge.ts'
import { SEARCH_LIMITS, parseQuery } from '../search/query.ts'
import { pickCafes } from '../search/sample.ts'
import { InvalidInputError } from '../shared/errors.ts'
import type { AnswerClass } from '../search/merge.ts'
import type { CafeMemory } from '../search/sample.ts'
import type { Contact } from '../contacts/index.ts'
import type { AbortOptions } from '@libp2p/interface'

/** Peer ids (52 characters) sent in a query's `visited`: 56 of them keep the body well inside 4 KiB. */
const MAX_VISITED_SENT = 56

/** The cafes a search may ask: this account's own, and each relay's directory list (longest listed first). A bare list is one relay's. */
export type SearchTargets = { own: string[], lists: string[][] } | string[]

export interface SearchDeps {
  /** Cafes known through the relays' directories, and this account's own cafes. */
  cafes: () => Promise<SearchTargets>
  /** Asks one cafe (POST /cafe/v1/search); resolves with its JSON answer. */
  ask: (cafe: string, query: Record<string, unknown>, options: AbortOptions) => Promise<unknown>
  /** This peer's own peer id: a cafe does not ask itself over the network. */
  self: string
  /** This peer's own index, when it is a cafe. */
  local?: (name: string, limit: number) => unknown[]
  /** How cafes did in this page's searches: the sample prefers those that answered well, and is told how each did. */
  memory?: CafeMemory
}

export interface SearchUpdate { cafe: string, added: Contact[], ignored: boolean }

export interface SearchOutcome {
  results: Array<{ contact: Contact, score: number, cafes: string[] }>
  asked: number
  answered: string[]
  ignored: string[]
  timedOut: string[]
  /** Contacts verified, and those skipped unverified past the search's budget (passed-on answers only). */
  verified: number
  skipped: number
  ms: number
}

/** The cafes one search asks, which of all those known the directories list, and which of those sent this page forgeries. */
async function sample (deps: { cafes: () => Promise<SearchTargets>, self: string, memory?: CafeMemory }): Promise<{ cafes: string[], listed: Set<string>, forgers: string[] }> {
  const known = await deps.cafes().catch(() => [] as string[])
  const targets = Array.isArray(known) ? { own: [], lists: [known] } : known
  const listed = new Set(targets.lists.flat())
  return { cafes: pickCafes({ ...targets, self: deps.self, ...(deps.memory != null ? { memory: deps.memory } : {}) }), listed, forgers: [...listed].filter(c => deps.memory?.isForger(c) === true) }
}

/**
 * A network-wide contact search: the query goes to a bounded sample of the cafes known
 * (pickCafes: this account's own, those that answered well, a random pick over the relays'
 * lists), in parallel, with one hop of forwarding; answers are verified within the search's
 * budget (the cafes asked first, then what they passed on, the directories' cafes first) and
 * merged as they arrive (`onUpdate` sees each), and what arrived before `wait` ms is the
 * answer. A cafe that sends one forged contact is ignored for the whole query.
 */
export async function searchContacts (deps: SearchDeps, input: { name?: unknown, limit?: unknown, wait?: unknown }, onUpdate?: (u: SearchUpdate) => void): Promise<SearchOutcome> {
  const q = parseQuery({ name: input.name, limit: input.limit, hops: 1 })
  const waitMs = input.wait == null || input.wait === '' ? SEARCH_LIMITS.defaultWaitMs : Number(input.wait)
  if (!Number.isInteger(waitMs) || waitMs < 0 || waitMs > SEARCH_LIMITS.maxWaitMs) throw new InvalidInputError('INVALID_FIELD', `wait must be 0 to ${SEARCH_LIMITS.maxWaitMs} ms`)
  const started = Date.now()
  const merger = new AnswerMerger({ query: q.name })
  const answered: string[] = []
  const ignored: string[] = []
  // Signatures checked by WebCrypto: 6 cafes' answers arrive together, and noble's check of
  // each contact held the main thread ~2.4 ms, in front of the dials still under way.
  const take = async (cafe: string, results: unknown, kind: AnswerClass = 'direct'): Promise<{ ignored: boolean, verified: number }> => {
    const r = await merger.add(cafe, Array.isArray(results) ? results : [null], kind)
    if (r.ignored) ignored.push(cafe)
    onUpdate?.({ cafe, added: r.added, ignored: r.ignored })
    return { ignored: r.ignored, verified: r.ignored || r.skipped === true || !Array.isArray(results) ? 0 : results.length }
  }
  if (deps.local != null) { await take(deps.self, deps.local(q.name, q.limit)); answered.push(deps.self) }

  const deadline = AbortSignal.timeout(Math.max(1, waitMs))
  const { cafes, listed, forgers } = await sample(deps)
  // Cafes that sent forgeries count as visited: those asked do not pass the query to them.
  const visited = [deps.self, ...cafes, ...forgers]
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
          // Answers forwarded by this cafe, attributed to the cafes that gave them (as many as a cafe forwards to).
          const forwarded = Array.isArray(a?.forwarded) ? a.forwarded.slice(0, SEARCH_LIMITS.maxForwardedPerAnswer) as Array<{ cafe?: unknown, results?: unknown }> : []
          const [own] = await Promise.all([
            take(cafe, a?.results),
            ...forwarded.map(async fa => typeof fa?.cafe === 'string' && !visited.includes(fa.cafe) ? take(fa.cafe, fa.results, listed.has(fa.cafe) ? 'listed' : 'unlisted') : { ignored: false, verified: 0 })
          ])
          // Only a forgery in its own answer marks a cafe: one passed on may be the named cafe's or
          // the forwarder's doing, and an honest forwarder cannot tell (it checks nothing it passes).
          if (own.ignored) deps.memory?.forged(cafe)
          // Checked after the deadline: too late for this query's answer, as before.
          if (!deadline.aborted) { answered.push(cafe); if (!own.ignored) deps.memory?.answered(cafe, own.verified) }
        }, () => { /* gone or refused: it simply does not answer */ })
        .finally(() => {
          pending.delete(cafe)
          if (pending.size === 0) resolve()
        })
    }
  })
  for (const cafe of pending) deps.memory?.missed(cafe)
  return { results: merger.results(q.limit), asked: cafes.length, answered, ignored, timedOut: [...pending], verified: merger.verified, skipped: merger.skipped, ms: Date.now() - started }
}

export interface WarmDeps {
  /** The cafes a search may ask (as SearchDeps.cafes). */
  cafes: () => Promise<SearchTargets>
  /** Opens a connection to one cafe (any cheap request); rejects when it cannot. */
  dial: (cafe: string, options: AbortOptions) => Promise<void>
  self: string
  /** As SearchDeps.memory: with it, the warm-up dials the cafes the search that follows asks. */
  memory?: CafeMemory
}

/** How long a warm-up may take: a dial that has not connected by then is left to the search. */
export const WARM_TIMEOUT_MS = 5_000

/**
 * Dials the cafes a search would ask (its sample, at most SEARCH_SAMPLE.maxAsked), all at
 * once, so the query itself finds connections open: the first WebRTC dial to a cafe
 * (signalling through the relay, ICE, DTLS, Noise) is most of a cold query's time. Called as
 * the search box opens, while the user types.
 */
export async function warmCafes (deps: WarmDeps, timeoutMs = WARM_TIMEOUT_MS): Promise<{ cafes: number, reached: number }> {
  const signal = AbortSignal.timeout(timeoutMs)
  const { cafes } = await sample(deps)
  const reached = await Promise.all(cafes.map(async c => deps.dial(c, { signal }).then(() => true, () => false)))
  return { cafes: cafes.length, reached: reached.filter(Boolean).length }
}
