import { Hono } from 'hono'
import { NotFoundError } from '../shared/errors.ts'
import { useErrorContract } from '../shared/http-errors.ts'
import { readJsonObject } from '../shared/json.ts'
import { RateLimiter } from '../shared/rate-limit.ts'
import type { CafeClient } from './cafe-client.ts'
import type { Messages } from './messages.ts'
import type { CarrierBindings } from '../node/carrier.ts'

/** Deliveries a stranger may make: a burst of 300, then 20 per second (the cafe inbox's policy). */
export const PEER_API_LIMITS = { burst: 300, perSecond: 20, maxEnvelopeJson: 64 * 1024 + 4096 } as const

/**
 * `/client/v1`: what any peer may ask of this (client) peer over libp2p: deliver an envelope
 * directly (senders, and this account's cafes pushing what arrived in its inbox), and read
 * this account's contact (a direct lookup).
 */
export function createPeerApp (messages: Messages, client: CafeClient): Hono<{ Bindings: CarrierBindings }> {
  const app = new Hono<{ Bindings: CarrierBindings }>().basePath('/client/v1')
  useErrorContract(app, 'peer API')
  const limiter = new RateLimiter({ capacity: PEER_API_LIMITS.burst, refillPerSecond: PEER_API_LIMITS.perSecond })

  app.post('/inbox', async c => {
    const from = c.env?.remotePeer ?? 'local'
    limiter.consume(from)
    const envelope = await readJsonObject(c.req.raw, PEER_API_LIMITS.maxEnvelopeJson)
    // A push from one of this account's cafes was bounded by its inbox; anyone else's counts against this device's budget.
    const fromMyCafe = (await client.list()).some(s => s.id === from && s.ended == null)
    const fresh = await messages.receive(envelope, { via: fromMyCafe ? 'cafe' : 'direct' })
    // A push from one of this account's cafes: now that it is kept here, the cafe may delete it.
    if (fromMyCafe) {
      messages.ack(from, [{ from: String(envelope.from), id: String(envelope.id) }]).catch(() => { /* collected and acknowledged later */ })
    }
    return c.json({ received: fresh }, 202)
  })
  app.get('/contact', async c => {
    const me = await messages.profile()
    if (me == null) throw new NotFoundError('CONTACT_NOT_FOUND', 'this peer has no published contact')
    return c.json(me)
  })
  return app
}
