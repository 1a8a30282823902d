import { Hono } from 'hono'
import { CONTACT_LIMITS } from '../../contacts/contact.ts'
import { InvalidInputError } from '../../shared/errors.ts'
import { jsonBody } from '../../shared/http-input.ts'
import { readJsonObject } from '../../shared/json.ts'
import { rateKeyOf } from '../../node/carrier.ts'
import type { CafeContacts } from '../contacts/contacts.ts'
import type { CafeEnv } from '../env.ts'
import type { ClientServices } from '../host.ts'
import { parseAckRefs } from './inbox.ts'
import type { CafeInbox } from './inbox.ts'
import type { MiddlewareHandler } from 'hono'

/** Room around an envelope in a delivery body (whitespace a sender's JSON may carry). */
const ENVELOPE_BODY_SLACK = 4096
/** `{ "messages": [{from, id}, ...] }` of at most 500 (an address and an id: ~90 characters each), with room to spare. */
const MAX_ACK_BODY = 64 * 1024
/** A contact is at most CONTACT_LIMITS.maxBytes compact; a pretty-printed one may be larger. */
const MAX_CONTACT_BODY = 2 * CONTACT_LIMITS.maxBytes

/** A query parameter that must be a whole number when present; 400 otherwise. */
function queryInt (name: string, text: string | undefined): number | undefined {
  if (text == null) return undefined
  if (!/^\d{1,15}$/.test(text)) throw new InvalidInputError('INVALID_FIELD', `${name} must be a whole number`)
  return Number(text)
}

/**
 * The offline inbox and contact routes. Delivering and reading a contact need no session (any
 * peer may message a client, or look one up); reading and acknowledging an inbox and
 * publishing a contact are the session's own. A sub-app, joined with `app.route()`.
 */
export function inboxApi (auth: MiddlewareHandler<CafeEnv>, inbox: CafeInbox, contacts: CafeContacts): Hono<CafeEnv> {
  const app = new Hono<CafeEnv>()
  // Senders are rate-limited per carrier peer: Noise authenticated it; same-origin callers share 'local'.
  app.post('/inbox', async c => {
    const body = await readJsonObject(c.req.raw, inbox.limits.maxEnvelopeBytes + ENVELOPE_BODY_SLACK)
    return c.json(await inbox.deliver(body, rateKeyOf(c.env)), 202)
  })
  // Many envelopes, one request, one transaction: a flushing outbox. Each is checked and rate-counted
  // as if alone; the answer says, per envelope and in order, what became of it.
  app.post('/inbox/batch', async c => {
    const { envelopes } = await readJsonObject(c.req.raw, inbox.limits.maxBatchBytes)
    return c.json({ results: await inbox.deliverMany(envelopes, rateKeyOf(c.env)) })
  })
  app.get('/inbox', auth, async c => {
    const after = queryInt('after', c.req.query('after'))
    const limit = queryInt('limit', c.req.query('limit'))
    return c.json(await inbox.list(c.var.session.address, { ...(after != null ? { after } : {}), ...(limit != null ? { limit } : {}) }))
  })
  app.post('/inbox/ack', auth, jsonBody(MAX_ACK_BODY, body => parseAckRefs(body.messages, inbox.limits.maxAckIds)), async c => c.json(await inbox.ack(c.var.session.address, c.req.valid('json'))))

  app.put('/contacts', auth, async c => c.json(await contacts.publish(c.var.session.address, await readJsonObject(c.req.raw, MAX_CONTACT_BODY))))
  app.get('/contacts/:address', async c => c.json(await contacts.get(c.req.param('address'))))
  return app
}

/** The inbox as the host sees a client: messages waiting; its inbox and contact go with it. */
export function inboxUsage (inbox: CafeInbox, contacts: CafeContacts): ClientServices {
  return {
    usage: async (address) => ({ inbox: (await inbox.count(address)).messages }),
    forget: async (address) => { await inbox.removeAll(address); await contacts.remove(address) }
  }
}
