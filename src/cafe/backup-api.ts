import { Hono } from 'hono'
import { CAR_CONTENT_TYPE } from '../ipfs/car.ts'
import { parseCid } from '../ipfs/cid.ts'
import { gatewayResponse } from '../ipfs/gateway.ts'
import { InvalidInputError } from '../shared/errors.ts'
import { jsonBody, queryOf } from '../shared/http-input.ts'
import { RateLimiter } from '../shared/rate-limit.ts'
import { bodyOf } from '../shared/request-body.ts'
import { iterateStream, streamFromIterator } from '../shared/streams.ts'
import { PIN_LIMITS, parseMetaJson, parsePinObject, parsePinQuery } from './pins/pin-service.ts'
import { SNAPSHOT_LIMITS } from './snapshots.ts'
import type { ClientServices } from './host.ts'
import type { PinService } from './pins/pin-service.ts'
import type { CafeEnv } from './env.ts'
import type { Snapshots } from './snapshots.ts'
import type { MiddlewareHandler } from 'hono'
import type { CID } from 'multiformats/cid'

/** The pin object of a Pinning Service API request is small; this bounds its parsing. */
const MAX_PIN_BODY = 64 * 1024

export const CHECK_LIMITS = {
  /** A have/want question: ≤ 1024 CIDs of ≤ 100 characters. */
  maxMissingBody: 128 * 1024,
  /**
   * Proofs per client: a burst of 12, then one an hour (≤ 36 a day). A client checks a few
   * times a day; each proof costs the cafe ≤ 16 block reads.
   */
  proofs: { capacity: 12, refillPerSecond: 1 / 3600 },
  /** Have/want questions per client: a 4 GiB DAG of 256 KiB blocks is 16 of them. */
  missing: { capacity: 512, refillPerSecond: 8 }
} as const

/** A JSON body's `cids`: 1 to `max` CIDs. */
function cidList (v: unknown, max: number): CID[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > max) throw new InvalidInputError('INVALID_FIELD', `cids must be an array of 1 to ${max} CIDs`)
  return v.map(c => { if (typeof c !== 'string' || c.length > 256) throw new InvalidInputError('INVALID_CID', 'cids must be CID strings'); return parseCid(c) })
}

/** An upload's query: the pin's name (this device's tag) and its metadata. */
function parseUploadQuery (q: URLSearchParams): { name?: string, meta: Record<string, string> } {
  const name = q.get('name')
  if (name != null && (name.length === 0 || name.length > PIN_LIMITS.maxNameLength)) throw new InvalidInputError('INVALID_FIELD', `name must be 1 to ${PIN_LIMITS.maxNameLength} characters`)
  const metaText = q.get('meta')
  return { ...(name != null ? { name } : {}), meta: metaText == null ? {} : parseMetaJson(metaText) }
}

/** A snapshot's body: its ciphertext, base64url. */
function parseSnapshot (body: Record<string, unknown>): { ciphertext: string } {
  const { ciphertext } = body
  if (typeof ciphertext !== 'string' || ciphertext.length === 0) throw new InvalidInputError('INVALID_FIELD', 'ciphertext must be a base64url string')
  return { ciphertext }
}

/** Spends one token of the caller's allowance, before its body is read. */
const rated = (limiter: RateLimiter): MiddlewareHandler<CafeEnv> => async (c, next) => { limiter.consume(c.var.session.address); await next() }

/**
 * The backup service's routes, every one behind a session: the IPFS Pinning Service API
 * (`/pins`), CAR uploads, reads of the client's own pinned blocks (trustless gateway), and
 * thread snapshots. A client sees and touches only its own pins and snapshots. A sub-app:
 * the cafe app joins it with `app.route()`.
 */
export function backupApi (auth: MiddlewareHandler<CafeEnv>, pins: PinService, snapshots: Snapshots, persistent: () => Promise<boolean> = async () => false): Hono<CafeEnv> {
  const app = new Hono<CafeEnv>()
  const proofs = new RateLimiter(CHECK_LIMITS.proofs)
  const questions = new RateLimiter(CHECK_LIMITS.missing)
  app.get('/pins', auth, queryOf(parsePinQuery), async c => c.json(await pins.list(c.var.session.address, c.req.valid('query'), { signal: c.req.raw.signal })))
  app.post('/pins', auth, jsonBody(MAX_PIN_BODY, parsePinObject), async c => c.json(await pins.create(c.var.session, c.req.valid('json'), { signal: c.req.raw.signal }), 202))
  app.get('/pins/:requestid', auth, async c => c.json(await pins.get(c.var.session.address, c.req.param('requestid'), { signal: c.req.raw.signal })))
  app.post('/pins/:requestid', auth, jsonBody(MAX_PIN_BODY, parsePinObject), async c => c.json(await pins.replace(c.var.session, c.req.param('requestid'), c.req.valid('json'), { signal: c.req.raw.signal }), 202))
  app.delete('/pins/:requestid', auth, async c => {
    await pins.remove(c.var.session.address, c.req.param('requestid'), { signal: c.req.raw.signal })
    return c.body(null, 202)
  })

  // A CAR the client pushes: pinned when the whole DAG under its root has arrived.
  app.post('/uploads', auth, queryOf(parseUploadQuery), async c => {
    const body = bodyOf(c.req.raw)
    if (body == null) throw new InvalidInputError('INVALID_CAR', 'send the CAR as the request body')
    return c.json(await pins.upload(c.var.session, iterateStream(body), { ...c.req.valid('query'), signal: c.req.raw.signal }), 201)
  })

  // An unfinished upload the client gives up on: its blocks go now rather than when it expires.
  app.delete('/uploads/:cid', auth, async c => {
    await pins.dropUnfinished(c.var.session.address, parseCid(c.req.param('cid')).toString())
    return c.body(null, 204)
  })

  // Have/want: which of these blocks the client must (still) send; the rest are stored here for it.
  app.post('/blocks/missing', auth, rated(questions), jsonBody(CHECK_LIMITS.maxMissingBody, b => ({ cids: cidList(b.cids, PIN_LIMITS.maxMissingQuery) })), async c => {
    const missing = await pins.missing(c.var.session.address, c.req.valid('json').cids, { signal: c.req.raw.signal })
    return c.json({ missing: missing.map(cid => cid.toString()) })
  })

  // A proof of storage: the blocks asked for (chosen at random by the client), as a CAR; any this cafe lost is left out.
  app.post('/proofs', auth, rated(proofs), jsonBody(MAX_PIN_BODY, b => ({ cids: cidList(b.cids, PIN_LIMITS.maxProofBlocks) })), async c => {
    const car = await pins.prove(c.var.session.address, c.req.valid('json').cids, { signal: c.req.raw.signal })
    return new Response(streamFromIterator(car), { headers: { 'content-type': CAR_CONTENT_TYPE } })
  })

  // What this cafe keeps for the client: bytes, pins whole, pins with lost blocks, unfinished uploads, and whether its storage is persistent.
  app.get('/storage', auth, async c => c.json({ ...(await pins.holdings(c.var.session.address, { signal: c.req.raw.signal })), persistent: await persistent() }))

  // Only blocks this client's pins hold; anyone else's are "not found". A block this cafe lost
  // is left out of the CAR (and recorded as lost): the client names it and fetches it elsewhere.
  app.get('/ipfs/:cid', auth, async c => gatewayResponse(c.req.raw, c.req.param('cid'), async cid => pins.read(c.var.session.address, cid), { skipMissing: true }))

  app.get('/snapshots', auth, async c => c.json(await snapshots.list(c.var.session.address)))
  app.put('/snapshots/:id', auth, jsonBody(SNAPSHOT_LIMITS.maxBodyBytes, parseSnapshot), async c => c.json(await snapshots.put(c.var.session.address, c.req.param('id'), c.req.valid('json'))))
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
