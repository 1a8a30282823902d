import { readJsonObject } from './json.ts'
import type { MiddlewareHandler } from 'hono'

/**
 * A route's input checked before its handler runs, in Hono's validator shape (the handler reads
 * it typed: `c.req.valid('json')`, `c.req.valid('query')`): `parse` turns what the caller sent
 * into the typed argument the domain method takes, or refuses it with its reason. Hono's own
 * `validator('json')` reads a body with no bound; a body here is read within `maxBytes`
 * (`readJsonObject`: 413 BODY_TOO_LARGE, 400 INVALID_CONTENT_TYPE or INVALID_JSON).
 */
export function jsonBody<T extends object> (maxBytes: number, parse: (body: Record<string, unknown>) => T | Promise<T>): MiddlewareHandler<any, string, { in: { json: unknown }, out: { json: T } }> {
  return async (c, next) => {
    c.req.addValidatedData('json', await parse(await readJsonObject(c.req.raw, maxBytes)))
    await next()
  }
}

/** The query string, checked as `jsonBody` checks a body (a URL is bounded by its carrier). */
export function queryOf<T extends object> (parse: (query: URLSearchParams) => T): MiddlewareHandler<any, string, { in: { query: unknown }, out: { query: T } }> {
  return async (c, next) => {
    c.req.addValidatedData('query', parse(new URL(c.req.url).searchParams))
    await next()
  }
}
