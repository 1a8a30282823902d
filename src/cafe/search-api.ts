import { Hono } from 'hono'
import { SEARCH_LIMITS, SeenQueries, parseQuery } from '../search/query.ts'
import { pickCafes } from '../search/sample.ts'
import { rateKeyOf } from '../node/carrier.ts'
import { readJsonObject } from '../shared/json.ts'
import { RateLimiter } from '../shared/rate-limit.ts'
import type { ContactIndex } from './contacts/contact-index.ts'
import type { CafeEnv } from './env.ts'
import type { AbortOptions } from '@libp2p/interface'

export const SEARCH_RATE = {
  /** Queries one asker (peer) may make in a burst, then per second: typing a name is a burst. */
  burst: 30,
  perSecond: 5,
  maxBodyBytes: 4 * 1024
} as const

export const SEARCH_FANOUT = {
  /** Cafes one query is passed on to at most: whatever the directory lists, one query costs this cafe at most this many requests. */
  maxTargets: SEARCH_LIMITS.maxForwardedPerAnswer,
  /** Queries this cafe passes on in a burst, then per second, whoever asks: all strangers together make it send at most 8 × 2 requests a second. */
  forwardBurst: 20,
  forwardPerSecond: 2,
  /** `visited` entries taken from a query (about what the 4 KiB body holds). */
  maxVisited: 64
} as const

/**
 * How a cafe passes a query on: the cafes it knows (the relays' directories, oldest entries
 * first) and one request to one of them. The answers are not verified here (the asker does).
 */
export interface Forward {
  cafes: () => Promise<string[]>
  ask: (cafe: string, query: Record<string, unknown>, options: AbortOptions) => Promise<unknown>
}

/** Passes a query on (hops 0: the cafes asked answer from their own index only) and gathers what came back in time. */
async function forwardQuery (forward: Forward, self: string, query: { id: string, name: string, limit: number, visited: string[] }, waitMs: number): Promise<Array<{ cafe: string, results: unknown[] }>> {
  const signal = AbortSignal.timeout(Math.max(1, waitMs))
  const aborted = new Promise<never>((_resolve, reject) => { signal.addEventListener('abort', () => { reject(signal.reason) }, { once: true }) })
  aborted.catch(() => {})
  const known = await Promise.race([forward.cafes(), aborted])
  // Drawn as a search's sample is (half from the longest listed, half from anywhere): cafes
  // that listed themselves first do not get every query this cafe passes on.
  const targets = pickCafes({ own: [], lists: [known.filter(id => !query.visited.includes(id))], self, max: SEARCH_FANOUT.maxTargets })
  const answers = await Promise.allSettled(targets.map(async cafe => {
    // No hop left, so the cafe asked has no use for `visited`: the body stays small.
    const answer = await Promise.race([forward.ask(cafe, { id: query.id, name: query.name, limit: query.limit, hops: 0, wait: waitMs }, { signal }), aborted]) as { results?: unknown } | null
    return { cafe, results: Array.isArray(answer?.results) ? answer.results.slice(0, query.limit) : [] }
  }))
  return answers.flatMap(a => a.status === 'fulfilled' ? [a.value] : [])
}

/**
 * `POST /cafe/v1/search`: anyone may ask a cafe for the contacts its clients published, by
 * name (prefix and fuzzy). Each result carries the signed contact, so the asker verifies it
 * itself. A query seen before (by id) is answered empty, so a query that reaches a cafe by two
 * paths is answered once; with a hop left (at most one), the cafe passes it on to at most
 * SEARCH_FANOUT.maxTargets cafes it knows that the query has not visited, and passes their
 * answers along. One stranger's query thus costs at most 1 + 8 requests network-wide, and a
 * cafe passes on at most 2 queries a second in all. A sub-app, joined with `app.route()`.
 */
export function searchApi (index: () => ContactIndex | undefined, self: string, forward?: Forward): Hono<CafeEnv> {
  const app = new Hono<CafeEnv>()
  const limiter = new RateLimiter({ capacity: SEARCH_RATE.burst, refillPerSecond: SEARCH_RATE.perSecond })
  const forwarding = new RateLimiter({ capacity: SEARCH_FANOUT.forwardBurst, refillPerSecond: SEARCH_FANOUT.forwardPerSecond })
  const seen = new SeenQueries()
  app.post('/search', async c => {
    limiter.consume(rateKeyOf(c.env))
    const body = await readJsonObject(c.req.raw, SEARCH_RATE.maxBodyBytes)
    const q = parseQuery(body)
    const visited = Array.isArray(body.visited) ? body.visited.filter((v): v is string => typeof v === 'string').slice(0, SEARCH_FANOUT.maxVisited) : []
    const wait = typeof body.wait === 'number' && body.wait > 0 ? Math.min(body.wait, SEARCH_LIMITS.maxWaitMs) : SEARCH_LIMITS.defaultWaitMs
    if (!seen.firstTime(q.id)) return c.json({ cafe: self, results: [], forwarded: [] })
    const results = index()?.search(q.name, q.limit) ?? []
    let forwarded: Array<{ cafe: string, results: unknown[] }> = []
    // Past the cafe-wide forwarding rate the query is answered from this cafe alone.
    if (q.hops > 0 && forward != null && forwarding.take('forward').ok) {
      // Half the asker's budget: our answer must get back to it in time.
      forwarded = await forwardQuery(forward, self, { id: q.id, name: q.name, limit: q.limit, visited: [...new Set([...visited, self])] }, wait / 2).catch(() => [])
    }
    return c.json({ cafe: self, results, forwarded })
  })
  return app
}
