import { RateLimiter } from '../inbox/index.ts'
import { SEARCH_LIMITS, SeenQueries, parseQuery } from '../search/query.ts'
import { readJsonObject } from '../shared/json.ts'
import type { CafeEnv } from './app.ts'
import type { ContactIndex } from './contacts/contact-index.ts'
import type { Hono } from 'hono'

export const SEARCH_RATE = {
  /** Queries one asker (peer) may make in a burst, then per second: typing a name is a burst. */
  burst: 30,
  perSecond: 5,
  maxBodyBytes: 4 * 1024
} as const

/** Asks other cafes (forwarding a query one hop further); answers what they returned, unverified (the asker verifies). */
export type Forward = (query: { id: string, name: string, limit: number, hops: number, visited: string[] }, deadlineMs: number) => Promise<Array<{ cafe: string, results: unknown[] }>>

/**
 * `POST /cafe/v1/search`: anyone may ask a cafe for the contacts its clients published, by
 * name (prefix and fuzzy). Each result carries the signed contact, so the asker verifies it
 * itself. A query seen before (by id) is answered empty, so a query that reaches a cafe by two
 * paths is answered once; with hops left, the cafe forwards it to the cafes it knows that the
 * query has not visited yet and passes their answers along.
 */
export function mountSearchApi (app: Hono<CafeEnv>, index: () => ContactIndex | undefined, self: string, forward?: Forward): void {
  const limiter = new RateLimiter({ capacity: SEARCH_RATE.burst, refillPerSecond: SEARCH_RATE.perSecond })
  const seen = new SeenQueries()
  app.post('/search', async c => {
    limiter.consume(c.env?.remotePeer ?? 'local')
    const body = await readJsonObject(c.req.raw, SEARCH_RATE.maxBodyBytes)
    const q = parseQuery(body)
    const visited = Array.isArray(body.visited) ? body.visited.filter((v): v is string => typeof v === 'string').slice(0, 1000) : []
    const wait = typeof body.wait === 'number' && body.wait > 0 ? Math.min(body.wait, SEARCH_LIMITS.maxWaitMs) : SEARCH_LIMITS.defaultWaitMs
    if (!seen.firstTime(q.id)) return c.json({ cafe: self, results: [], forwarded: [] })
    const results = index()?.search(q.name, q.limit) ?? []
    let forwarded: Array<{ cafe: string, results: unknown[] }> = []
    if (q.hops > 0 && forward != null) {
      // Half the asker's budget: our answer must get back to it in time.
      forwarded = await forward({ id: q.id, name: q.name, limit: q.limit, hops: q.hops - 1, visited: [...new Set([...visited, self])] }, wait / 2).catch(() => [])
    }
    return c.json({ cafe: self, results, forwarded })
  })
}
