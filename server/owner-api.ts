import { Hono } from 'hono'
import { mountOwnerRoutes } from '../src/api/owner-routes.ts'
import { equalBytes, utf8 } from '../src/shared/bytes.ts'
import { UnauthorizedError } from '../src/shared/errors.ts'
import { useErrorContract } from '../src/shared/http-errors.ts'
import type { Cafe } from '../src/cafe/compose.ts'

export interface OwnerApiInit {
  /** The secret in `owner.secret`: the CLI (or a script of the owner) sends it as a Bearer token. */
  secret: string
  peer(): { peerId: string, multiaddrs: string[], relays: Array<{ multiaddr: string, connected: boolean, reserved: boolean, lastError?: string }>, startedAt: string, http: string }
}

/**
 * `/api/v0` for the headless cafe's owner: the dashboard's cafe routes (owner-routes.ts) and the
 * peer's addresses. Listens on 127.0.0.1 only, and asks for the owner secret even there: any
 * local process or a web page's fetch could reach loopback, but only the owner can read the file.
 */
export function createOwnerApi (cafe: Cafe, init: OwnerApiInit): Hono {
  const app = new Hono().basePath('/api/v0')
  useErrorContract(app, 'owner API')
  const want = utf8.encode(`Bearer ${init.secret}`)
  app.use(async (c, next) => {
    const got = utf8.encode(c.req.header('authorization') ?? '')
    if (got.byteLength !== want.byteLength || !equalBytes(got, want)) throw new UnauthorizedError('OWNER_SECRET_REQUIRED', 'send the contents of owner.secret as a Bearer token')
    await next()
  })
  app.get('/peer', async c => {
    const s = await cafe.host.getSettings()
    return c.json({ ...init.peer(), cafe: { enabled: s.enabled, name: s.name } })
  })
  mountOwnerRoutes(app, { cafe: cafe.host, inbox: cafe.inbox, activity: cafe.activity, peerId: () => init.peer().peerId })
  return app
}
