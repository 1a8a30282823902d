import { InvalidInputError } from '../shared/errors.ts'
import { readJsonObject } from '../shared/json.ts'
import { parseActivityFilter } from '../cafe/activity.ts'
import type { ActivityLog } from '../cafe/activity.ts'
import type { CafeHost, CafeInbox } from '../cafe/index.ts'
import type { Hono } from 'hono'

/** The local API only takes small JSON bodies; 64 KiB bounds parsing of anything sent to it. */
export const LOCAL_API_MAX_JSON = 64 * 1024

/** What the owner's cafe routes need: the tab's peer and the headless cafe both give it. */
export interface OwnerDeps {
  cafe: CafeHost
  inbox: CafeInbox
  activity: ActivityLog
  peerId(): string
}

/** `GET /api/v0/cafe`: this cafe's settings as its owner sets them. */
export interface CafeSettingsView { enabled: boolean, name: string, open: boolean, quotaBytes: number, inbox: { perRecipientCount: number, perRecipientBytes: number, ttlMs: number }, peerId: string }

/** The owner's inbox limits: whole positive numbers, each optional. */
function parseInboxLimits (v: unknown): { perRecipientCount?: number, perRecipientBytes?: number, ttlMs?: number } | undefined {
  if (v === undefined) return undefined
  if (v == null || typeof v !== 'object' || Array.isArray(v)) throw new InvalidInputError('INVALID_FIELD', 'inbox must be an object of limits')
  const out: Record<string, number> = {}
  for (const [k, n] of Object.entries(v)) {
    if (!['perRecipientCount', 'perRecipientBytes', 'ttlMs'].includes(k)) throw new InvalidInputError('INVALID_FIELD', `inbox.${k.slice(0, 32)} is not a limit the owner sets (perRecipientCount, perRecipientBytes, ttlMs)`)
    if (!Number.isSafeInteger(n) || (n as number) < 1) throw new InvalidInputError('INVALID_FIELD', `inbox.${k} must be a whole number above 0`)
    out[k] = n as number
  }
  return out
}

/** The owner's cafe routes (settings, tokens, clients, activity), mounted on an app with base path `/api/v0`. */
export function mountOwnerRoutes (app: Hono, deps: OwnerDeps): void {
  const cafeView = async (): Promise<CafeSettingsView> => {
    const s = await deps.cafe.getSettings()
    return { enabled: s.enabled, name: s.name, open: s.open !== false, quotaBytes: s.quotaBytes, inbox: { perRecipientCount: deps.inbox.limits.perRecipientCount, perRecipientBytes: deps.inbox.limits.perRecipientBytes, ttlMs: deps.inbox.limits.ttlMs }, peerId: deps.peerId() }
  }
  app.get('/cafe', async c => c.json(await cafeView()))
  app.put('/cafe', async c => {
    const { enabled, name, open, quotaBytes, inbox } = await readJsonObject(c.req.raw, LOCAL_API_MAX_JSON)
    const inboxLimits = parseInboxLimits(inbox)
    if (enabled !== undefined && typeof enabled !== 'boolean') throw new InvalidInputError('INVALID_FIELD', 'enabled must be true or false')
    if (open !== undefined && typeof open !== 'boolean') throw new InvalidInputError('INVALID_FIELD', 'open must be true or false')
    if (name !== undefined && (typeof name !== 'string' || name.length > 64)) throw new InvalidInputError('INVALID_FIELD', 'name must be a string of at most 64 characters')
    if (quotaBytes !== undefined && (!Number.isSafeInteger(quotaBytes) || (quotaBytes as number) < 0)) throw new InvalidInputError('INVALID_FIELD', 'quotaBytes must be a whole number of bytes')
    await deps.cafe.setSettings({ ...(enabled !== undefined ? { enabled } : {}), ...(open !== undefined ? { open } : {}), ...(name !== undefined ? { name } : {}), ...(quotaBytes !== undefined ? { quotaBytes: quotaBytes as number } : {}), ...(inboxLimits != null ? { inbox: { ...(await deps.cafe.getSettings()).inbox, ...inboxLimits } } : {}) })
    if (inboxLimits != null) deps.inbox.setLimits(inboxLimits)
    return c.json(await cafeView())
  })
  app.post('/tokens', async c => c.json(await deps.cafe.createToken(), 201))
  app.get('/tokens', async c => c.json(await deps.cafe.listTokens()))
  app.delete('/tokens/:id', async c => {
    await deps.cafe.revokeToken(c.req.param('id'))
    return c.body(null, 204)
  })
  app.get('/clients', async c => c.json(await deps.cafe.listClients()))
  app.put('/clients/:address', async c => {
    const { quota } = await readJsonObject(c.req.raw, LOCAL_API_MAX_JSON)
    if (quota !== null && typeof quota !== 'number') throw new InvalidInputError('INVALID_FIELD', 'quota must be a number of bytes, or null for the cafe\'s default')
    await deps.cafe.setClientQuota(c.req.param('address'), quota ?? undefined)
    const view = (await deps.cafe.listClients()).find(v => v.address === c.req.param('address'))
    return c.json(view)
  })
  app.delete('/clients/:address', async c => {
    const t = Date.now()
    await deps.cafe.removeClient(c.req.param('address'))
    deps.activity.record({ kind: 'registration', what: 'removed by the owner', who: c.req.param('address'), status: 204, ms: Date.now() - t })
    return c.body(null, 204)
  })
  app.get('/activity', c => {
    const filter = parseActivityFilter(new URL(c.req.url).searchParams)
    return c.json({ entries: deps.activity.list(filter), counts: deps.activity.counts() })
  })

}
