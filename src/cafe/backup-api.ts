import { Hono } from 'hono'
import { gatewayResponse } from '../ipfs/gateway.ts'
import { InvalidInputError } from '../shared/errors.ts'
import { readJsonObject } from '../shared/json.ts'
import { bodyOf } from '../shared/request-body.ts'
import { iterateStream } from '../shared/streams.ts'
import { PIN_LIMITS, parseMetaJson } from './pins/pin-service.ts'
import { SNAPSHOT_LIMITS } from './snapshots.ts'
import type { ClientServices } from './host.ts'
import type { PinService } from './pins/pin-service.ts'
import type { CafeEnv } from './env.ts'
import type { Snapshots } from './snapshots.ts'
import type { MiddlewareHandler } from 'hono'

/** The pin object of a Pinning Service API request is small; this bounds its parsing. */
const MAX_PIN_BODY = 64 * 1024

/**
 * The backup service's routes, every one behind a session: the IPFS Pinning Service API
 * (`/pins`), CAR uploads, reads of the client's own pinned blocks (trustless gateway), and
 * thread snapshots. A client sees and touches only its own pins and snapshots. A sub-app:
 * the cafe app joins it with `app.route()`.
 */
export function backupApi (auth: MiddlewareHandler<CafeEnv>, pins: PinService, snapshots: Snapshots): Hono<CafeEnv> {
  const app = new Hono<CafeEnv>()
  app.get('/pins', auth, async c => c.json(await pins.list(c.var.session.address, new URL(c.req.url).searchParams, { signal: c.req.raw.signal })))
  app.post('/pins', auth, async c => c.json(await pins.create(c.var.session, await readJsonObject(c.req.raw, MAX_PIN_BODY), { signal: c.req.raw.signal }), 202))
  app.get('/pins/:requestid', auth, async c => c.json(await pins.get(c.var.session.address, c.req.param('requestid'), { signal: c.req.raw.signal })))
  app.post('/pins/:requestid', auth, async c => c.json(await pins.replace(c.var.session, c.req.param('requestid'), await readJsonObject(c.req.raw, MAX_PIN_BODY), { signal: c.req.raw.signal }), 202))
  app.delete('/pins/:requestid', auth, async c => {
    await pins.remove(c.var.session.address, c.req.param('requestid'), { signal: c.req.raw.signal })
    return c.body(null, 202)
  })

  // A CAR the client pushes: pinned when the whole DAG under its root has arrived.
  app.post('/uploads', auth, async c => {
    const name = c.req.query('name')
    if (name != null && (name.length === 0 || name.length > PIN_LIMITS.maxNameLength)) throw new InvalidInputError('INVALID_FIELD', `name must be 1 to ${PIN_LIMITS.maxNameLength} characters`)
    const metaText = c.req.query('meta')
    const meta = metaText == null ? {} : parseMetaJson(metaText)
    const body = bodyOf(c.req.raw)
    if (body == null) throw new InvalidInputError('INVALID_CAR', 'send the CAR as the request body')
    return c.json(await pins.upload(c.var.session, iterateStream(body), { ...(name != null ? { name } : {}), meta, signal: c.req.raw.signal }), 201)
  })

  // Only blocks this client's pins hold; anyone else's are "not found".
  app.get('/ipfs/:cid', auth, async c => gatewayResponse(c.req.raw, c.req.param('cid'), async cid => pins.read(c.var.session.address, cid)))

  app.get('/snapshots', auth, async c => c.json(await snapshots.list(c.var.session.address)))
  app.put('/snapshots/:id', auth, async c => c.json(await snapshots.put(c.var.session.address, c.req.param('id'), await readJsonObject(c.req.raw, SNAPSHOT_LIMITS.maxBodyBytes))))
  app.get('/snapshots/:id', auth, async c => c.json(await snapshots.get(c.var.session.address, c.req.param('id'))))
  app.delete('/snapshots/:id', auth, async c => {
    await snapshots.delete(c.var.session.address, c.req.param('id'))
    return c.body(null, 204)
  })
  return app
}

/** The backup service as the host sees a client: bytes and pins held, snapshots kept; all dropped when it goes. */
export function backupUsage (pins: PinService, snapshots: Snapshots): ClientServices {
  return {
    usage: async (address) => ({ ...pins.usage(address), snapshots: await snapshots.count(address) }),
    forget: async (address) => { await pins.removeAll(address); await snapshots.deleteAll(address) }
  }
}
