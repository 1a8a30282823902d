import { LightcafeError, refusalResponse } from './errors.ts'
import type { Env, Hono, Schema } from 'hono'

/**
 * The error contract of every Lightcafe HTTP app: LightcafeError → its status and
 * `{error:{reason, details}}`; anything else → 500 INTERNAL (no stack to the caller);
 * unknown routes → 404 NOT_FOUND.
 */
export function useErrorContract<E extends Env, S extends Schema, B extends string> (app: Hono<E, S, B>, label: string): void {
  app.onError((err, c) => {
    if (err instanceof LightcafeError) return c.json(err.toJSON(), err.status as 400)
    console.error(`${label} error`, err)
    return refusalResponse('INTERNAL', `the ${label} failed to answer; see the node page's console`)
  })
  app.notFound(c => refusalResponse('NOT_FOUND', `no route ${c.req.method} ${c.req.path}`))
}
