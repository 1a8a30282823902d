import { Hono } from 'hono'
import { UnavailableError } from '../shared/errors.ts'
import { useErrorContract } from '../shared/http-errors.ts'
import { jsonBody } from '../shared/http-input.ts'
import { stringField } from '../shared/json.ts'
import { rateKeyOf } from '../node/carrier.ts'
import { activityKind } from './activity.ts'
import { backupApi } from './backup-api.ts'
import { requireSession } from './env.ts'
import { parseChallenge, parseRegistration } from './host.ts'
import { inboxApi } from './inbox/inbox-api.ts'
import { SESSION_LIMITS } from './limits.ts'
import { searchApi } from './search-api.ts'
import { bearer } from './sessions.ts'
import type { Activity } from './activity.ts'
import type { CafeEnv } from './env.ts'
import type { CafeHost } from './host.ts'
import type { ContactIndex } from './contacts/contact-index.ts'
import type { CafeContacts } from './contacts/contacts.ts'
import type { CafeInbox } from './inbox/inbox.ts'
import type { PinService } from './pins/pin-service.ts'
import type { Forward } from './search-api.ts'
import type { Snapshots } from './snapshots.ts'

/** The services a cafe offers besides sessions; each mounts its routes when given. */
export interface CafeServices {
  pins?: PinService
  snapshots?: Snapshots
  /** Whether the cafe's storage is persistent (a browser may evict a site's data; a disk does not): clients are told. */
  persistent?: () => Promise<boolean>
  inbox?: CafeInbox
  contacts?: CafeContacts
  search?: { index: () => ContactIndex | undefined, forward?: Forward }
}

export interface CafeAppOptions {
  version?: string
  services?: CafeServices
  /** Told of every request the owner's activity log shows, once answered (refusals too). */
  onActivity?: (a: Omit<Activity, 'seq' | 'at'>) => void
}

/** `/cafe/v1`: the cafe's API, one Hono app for both carriers (libp2p streams, service worker). */
export function createCafeApp (host: CafeHost, opts: CafeAppOptions = {}): Hono<CafeEnv> {
  const app = new Hono<CafeEnv>().basePath('/cafe/v1')
  const auth = requireSession(host)

  useErrorContract(app, 'cafe API')

  const onActivity = opts.onActivity
  if (onActivity != null) {
    app.use('*', async (c, next) => {
      const kind = activityKind(c.req.method, c.req.path)
      if (kind == null) { await next(); return }
      const t = Date.now()
      await next()
      const who = c.get('session')?.address ?? c.env?.remotePeer
      onActivity({ kind, what: `${c.req.method} ${c.req.path.replace(/^\/cafe\/v1/, '')}`, ...(who != null ? { who } : {}), status: c.res.status, ms: Date.now() - t })
    })
  }

  app.get('/info', async c => {
    const s = await host.getSettings()
    // `open`: a newcomer with a token may register now (cafe on, registrations not closed).
    return c.json({ peerId: host.peerId, name: s.name, open: s.enabled && s.open !== false, version: opts.version ?? '0' })
  })

  // Everything but /info needs cafe mode on.
  app.use('*', async (_c, next) => {
    if (!(await host.getSettings()).enabled) throw new UnavailableError('CAFE_DISABLED', 'this peer is not offering cafe services right now')
    await next()
  })
  app.post('/sessions/challenge', jsonBody(SESSION_LIMITS.maxJsonBody, parseChallenge), async c => {
    const { address } = c.req.valid('json')
    const peer = c.env?.remotePeer ?? 'local'
    return c.json(host.challenge(address, { slot: c.env?.connection ?? peer, spender: peer, rate: rateKeyOf(c.env) }))
  })
  app.post('/sessions', jsonBody(SESSION_LIMITS.maxJsonBody, body => ({ peerId: body.peerId, registration: parseRegistration(body) })), async c => {
    const body = c.req.valid('json')
    // Over libp2p the session is bound to the caller Noise authenticated. A same-origin caller
    // (service worker: this device's own apps) has no peer id to prove; it may name one in the
    // body, which can only restrict its session (used over libp2p it must then come from that
    // peer), or gets '' — a session that every libp2p caller is refused (PEER_MISMATCH).
    const peer = c.env?.remotePeer ?? (body.peerId === undefined ? '' : stringField('peerId', body.peerId, 128))
    return c.json(await host.register(body.registration, peer, c.env?.remotePeer ?? 'local'), 201)
  })
  app.post('/sessions/refresh', async c => c.json(await host.refresh(bearer(c.req.header('authorization')), c.env?.remotePeer)))
  app.delete('/sessions', async c => {
    await host.deregister(bearer(c.req.header('authorization')), c.env?.remotePeer)
    return c.body(null, 204)
  })
  app.get('/sessions/me', auth, c => c.json(c.var.session))

  const { pins, snapshots, persistent, inbox, contacts, search } = opts.services ?? {}
  // Sub-apps below this module (they import CafeEnv from env.ts, never this file); routed after
  // the middleware above, so cafe mode, activity and the error contract cover them too.
  if (pins != null && snapshots != null) app.route('/', backupApi(auth, pins, snapshots, persistent))
  if (inbox != null && contacts != null) app.route('/', inboxApi(auth, inbox, contacts))
  if (search != null) app.route('/', searchApi(search.index, host.peerId, search.forward))

  return app
}
