import { bearer } from './sessions.ts'
import type { CarrierBindings } from '../node/carrier.ts'
import type { AuthenticatedClient, CafeHost } from './host.ts'
import type { MiddlewareHandler } from 'hono'

/** Hono env of the cafe app and its sub-apps: the carrier's bindings, and the session once verified. */
export interface CafeEnv { Bindings: CarrierBindings, Variables: { session: AuthenticatedClient } }

/** Verifies the Bearer access JWT and puts the caller in `c.var.session`. For every authenticated route. */
export function requireSession (host: CafeHost): MiddlewareHandler<CafeEnv> {
  return async (c, next) => {
    c.set('session', await host.authenticate(bearer(c.req.header('authorization')), c.env?.remotePeer))
    await next()
  }
}
