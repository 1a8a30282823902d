import { Hono } from 'hono'
import { ForbiddenError, LightcafeError, NotFoundError } from '../shared/errors.ts'
import { useErrorContract } from '../shared/http-errors.ts'
import { jsonBody } from '../shared/http-input.ts'
import { readJsonObject, stringField } from '../shared/json.ts'
import { crossSiteRefusal, factsOf } from '../shared/same-origin.ts'
import { bodyOf } from '../shared/request-body.ts'
import { ndjsonStream, throttledNdjson } from '../shared/streams.ts'
import type { Account } from '../account/index.ts'
import type { ConnectionPath } from '../node/connection-path.ts'
import { LOCAL_API_MAX_JSON, mountOwnerRoutes } from './owner-routes.ts'
import type { ActivityLog } from '../cafe/activity.ts'
import type { CafeHost, CafeInbox } from '../cafe/index.ts'
import { backupHealth, CHECK_TIMING, parseJoin, parseOutgoing } from '../client/index.ts'
import type { BackupChecks, BackupHealth, BackupOutbox, CafeClient, CafeSession, Files, Messages, ReceiveProblem, RecoverOptions, RecoveryProgress, SearchOutcome, SearchUpdate, Threads } from '../client/index.ts'

export { LOCAL_API_MAX_JSON }

/**
 * An open connection. `direct`: not carried by a circuit relay (a TURN-relayed WebRTC connection
 * is still `direct` here); `path` says how it really goes (see src/node/connection-path.ts).
 */
export interface ConnectionInfo { peerId: string, remoteAddr: string, transport: 'webrtc' | 'websockets' | 'circuit-relay' | 'other', direct: boolean, path: ConnectionPath, candidates?: string }

/** What the local API needs from the running peer; the node page provides it. */
export interface LocalApiDeps {
  /** `webrtc`: whether this browser makes WebRTC connections (absent: it does). */
  peer(): { peerId: string, multiaddrs: string[], relays: Array<{ multiaddr: string, connected: boolean, reserved: boolean }>, iceServers: string[], webrtc?: boolean, startedAt: string }
  connections(): Promise<ConnectionInfo[]>
  account(): Account
  restoreAccount(mnemonic: string): Promise<Account>
  cafe: CafeHost
  /** What the cafe API was asked, for the owner's live log. */
  activity: ActivityLog
  inbox: CafeInbox
  client: CafeClient
  files: Files
  backups: BackupOutbox
  /** Proofs of storage and repairs, per cafe. */
  checks: BackupChecks
  threads: Threads
  messages: Messages
  search(input: { name?: unknown, limit?: unknown, wait?: unknown }, onUpdate?: (u: SearchUpdate) => void): Promise<SearchOutcome>
  /** Dials the cafes a search would ask (the search box opened): the query then finds connections open. */
  warmSearch?(): Promise<{ cafes: number, reached: number }>
  /** Starts (or joins) a recovery from a cafe and resolves with its outcome; `onProgress` is told of each step. */
  recover(cafeId: string, options?: RecoverOptions): Promise<RecoveryProgress>
  recovery(cafeId: string): RecoveryProgress | undefined
  /** `reported: false` where the browser gives no estimate (no navigator.storage): the numbers mean nothing then. */
  storage(): Promise<{ usage: number, quota: number, persisted: boolean, reported?: boolean }>
}

/** A streamed recovery sends its progress at most this often (the outcome at once). */
export const RECOVERY_STREAM_MS = 100
/** A stream of backup changes sends each backup's state at most this often, and ends after the second (the page opens another). */
export const BACKUP_STREAM_MS = 100
export const BACKUP_STREAM_MAX_MS = 10 * 60_000

/** A session with a cafe as the local API shows it (no tokens). */
export type SessionView = Pick<CafeSession, 'id' | 'address' | 'exp' | 'rexp' | 'registered' | 'addrs' | 'ended'>

/** `GET /api/v0/peer`: this peer, its account, and whether it is a cafe now. */
export type PeerView = ReturnType<LocalApiDeps['peer']> & { address: string, cafe: { enabled: boolean, name: string } }

/** `GET /api/v0/messages/status`: messages here, waiting to go, and why the last ones did not. */
export interface MessageStatus { unread: number, received: number, outbox: number, lastFailure: string | null, problem: ReceiveProblem | null }

function sessionView (s: CafeSession): SessionView {
  return { id: s.id, address: s.address, exp: s.exp, rexp: s.rexp, registered: s.registered, addrs: s.addrs, ...(s.ended != null ? { ended: s.ended } : {}) }
}

/** `/api/v0`: the device owner's API (same origin, through the service worker). */
export function createLocalApi (deps: LocalApiDeps): Hono {
  const app = new Hono().basePath('/api/v0')

  useErrorContract(app, 'local API')

  // Defence in depth behind the service worker's own check: only the app, by fetch(), reaches
  // this API; never a form, link or image of another site (src/shared/same-origin.ts).
  app.use(async (c, next) => {
    const why = crossSiteRefusal(factsOf(c.req.raw))
    if (why != null) throw new ForbiddenError('CROSS_SITE_REFUSED', why)
    await next()
  })

  peerRoutes(app, deps)
  // This peer as a cafe (the same routes the headless cafe serves its owner: owner-routes.ts)
  mountOwnerRoutes(app, { cafe: deps.cafe, inbox: deps.inbox, activity: deps.activity, peerId: () => deps.peer().peerId })
  app.get('/storage', async c => c.json(await deps.storage()))
  cafeClientRoutes(app, deps)
  fileRoutes(app, deps)
  messageRoutes(app, deps)
  searchRoutes(app, deps)
  backupRoutes(app, deps)
  threadRoutes(app, deps)
  return app
}

/** This peer and its account. */
function peerRoutes (app: Hono, deps: LocalApiDeps): void {
  app.get('/peer', async c => {
    const settings = await deps.cafe.getSettings()
    const view: PeerView = { ...deps.peer(), address: deps.account().address, cafe: { enabled: settings.enabled, name: settings.name } }
    return c.json(view)
  })
  app.get('/connections', async c => c.json(await deps.connections()))
  app.get('/account', c => c.json({ address: deps.account().address }))
  app.get('/account/mnemonic', c => c.json({ mnemonic: deps.account().mnemonic }))
  app.post('/account', async c => {
    const { mnemonic } = await readJsonObject(c.req.raw, LOCAL_API_MAX_JSON)
    if ((await deps.client.list()).length > 0) {
      throw new LightcafeError('ACCOUNT_HAS_SESSIONS', 'deregister from your cafes before replacing this device\'s account')
    }
    const account = await deps.restoreAccount(mnemonic as string)
    return c.json({ address: account.address })
  })
}

/** This peer as a client of cafes: sessions, collecting messages, recovery. */
function cafeClientRoutes (app: Hono, deps: LocalApiDeps): void {
  app.post('/cafes', jsonBody(LOCAL_API_MAX_JSON, parseJoin), async c => {
    const { cafe, token } = c.req.valid('json')
    const s = await deps.client.register(cafe, token)
    return c.json({ id: s.id, address: s.address, access: s.access, exp: s.exp, refresh: s.refresh, rexp: s.rexp }, 201)
  })
  app.get('/cafes', async c => c.json((await deps.client.list()).map(sessionView)))
  app.get('/cafes/:id', async c => c.json(sessionView(await deps.client.get(c.req.param('id')))))
  app.post('/cafes/:id/refresh', async c => c.json(sessionView(await deps.client.refresh(c.req.param('id')))))
  app.post('/cafes/messages', async c => c.json(await deps.messages.collect()))
  // `stream=1`: the recovery's progress as lines of JSON while it runs (see recoveryStream).
  app.post('/cafes/:id/recover', async c => {
    await deps.client.get(c.req.param('id'))
    if (c.req.query('stream') !== '1') return c.json(await deps.recover(c.req.param('id')))
    return recoveryStream(deps, c.req.param('id'), c.req.raw.signal)
  })
  app.get('/cafes/:id/recover', c => {
    const p = deps.recovery(c.req.param('id'))
    if (p == null) throw new NotFoundError('NO_RECOVERY', 'no recovery from this cafe has run since the page loaded')
    return c.json(p)
  })
  app.delete('/cafes/:id', async c => {
    await deps.client.deregister(c.req.param('id'), { force: c.req.query('force') === 'true' })
    return c.body(null, 204)
  })
}

/** This device's files (encrypted unless asked not to). */
function fileRoutes (app: Hono, deps: LocalApiDeps): void {
  app.post('/files', async c => {
    const encrypt = c.req.query('encrypt') !== 'false'
    const f = await deps.files.add(bodyOf(c.req.raw), { encrypt })
    return c.json({ cid: f.cid, bytes: f.bytes, encrypted: f.encrypted }, 201)
  })
  app.get('/files/:cid', async c => {
    const { record, body } = await deps.files.cat(c.req.param('cid'))
    return new Response(body, { headers: { 'content-type': 'application/octet-stream', 'x-lightcafe-encrypted': String(record.encrypted) } })
  })
}

/** Messages and contacts. */
function messageRoutes (app: Hono, deps: LocalApiDeps): void {
  app.put('/profile', async c => {
    const { name } = await readJsonObject(c.req.raw, LOCAL_API_MAX_JSON)
    const { contact, published } = await deps.messages.setProfile(name)
    return c.json({ ...contact, published })
  })
  app.get('/profile', async c => {
    const me = await deps.messages.profile()
    if (me == null) throw new NotFoundError('NO_PROFILE', 'set a profile first: PUT /api/v0/profile {name}')
    return c.json(me)
  })
  app.get('/contacts/:address', async c => c.json(await deps.messages.contactOf(c.req.param('address'), { refresh: c.req.query('refresh') === 'true' })))
  app.post('/messages', jsonBody(LOCAL_API_MAX_JSON, parseOutgoing), async c => {
    const { to, text } = c.req.valid('json')
    return c.json(await deps.messages.send(to, text), 202)
  })
  app.get('/messages', async c => c.json(await deps.messages.list()))
  // What became of each message this device sent: queued, stored at N cafes, delivered, read.
  app.get('/messages/sent', async c => c.json(await deps.messages.sent()))
  app.get('/messages/settings', async c => c.json(await deps.messages.receiptSettings()))
  app.put('/messages/settings', async c => c.json(await deps.messages.setReceiptSettings(await readJsonObject(c.req.raw, LOCAL_API_MAX_JSON))))
  app.get('/messages/status', async c => {
    const status: MessageStatus = { unread: await deps.messages.unread(), received: await deps.messages.count(), outbox: await deps.messages.pending(), lastFailure: deps.messages.lastFailure ?? null, problem: deps.messages.receiveProblem ?? null }
    return c.json(status)
  })
}

/**
 * Search: verified contacts from every cafe reached before `wait`; `stream=1` sends each cafe's
 * new results as a line of JSON as they arrive, then a summary line.
 */
function searchRoutes (app: Hono, deps: LocalApiDeps): void {
  app.post('/search/warm', async c => c.json(await deps.warmSearch?.() ?? { cafes: 0, reached: 0 }))
  app.get('/search', async c => {
    const input = { name: c.req.query('name'), limit: c.req.query('limit'), wait: c.req.query('wait') }
    const view = (r: { contact: unknown, score: number, cafes: string[] }): Record<string, unknown> => ({ ...(r.contact as object), score: r.score, cafes: r.cafes })
    const summary = (out: SearchOutcome): Record<string, unknown> => ({ results: out.results.map(view), asked: out.asked, answered: out.answered, ignored: out.ignored, timedOut: out.timedOut, verified: out.verified, skipped: out.skipped, ms: out.ms })
    if (c.req.query('stream') !== '1') return c.json(summary(await deps.search(input)))
    const { body, send, close } = ndjsonStream(c.req.raw.signal)
    // Bad input fails before the first await inside search: answer it with its 400, not a 200 stream.
    let failed: unknown
    const running = deps.search(input, u => { if (u.added.length > 0 || u.ignored) send({ cafe: u.cafe, added: u.added, ignored: u.ignored }) })
    running.catch((err: unknown) => { failed = err })
    await new Promise(resolve => setTimeout(resolve, 0))
    if (failed != null) throw failed
    running.then(out => { send({ done: true, ...summary(out) }); close() },
      err => { send({ done: true, error: { reason: (err as LightcafeError).reason ?? 'SEARCH_FAILED', details: (err as Error).message } }); close() })
    return new Response(body, { headers: { 'content-type': 'application/x-ndjson' } })
  })
}

/** Backups: start, list (or follow), health, checks, status, unpin. */
function backupRoutes (app: Hono, deps: LocalApiDeps): void {
  app.post('/backups', async c => {
    const { cid } = await readJsonObject(c.req.raw, LOCAL_API_MAX_JSON)
    return c.json(await deps.backups.backup(stringField('cid', cid, 256), { signal: c.req.raw.signal }), 202)
  })
  // `stream=1`: the list, then each change as a line (see backupStream).
  app.get('/backups', async c => {
    if (c.req.query('stream') !== '1') return c.json(await deps.backups.list({ signal: c.req.raw.signal }))
    return backupStream(deps.backups, c.req.raw.signal)
  })
  // The health view: where the backups are, each cafe's last check, what to do.
  const health = async (): Promise<BackupHealth> => backupHealth({
    now: Date.now(),
    silentMs: CHECK_TIMING.silentMs,
    sessions: await deps.client.list(),
    backups: await deps.backups.records(),
    checks: await deps.checks.records(),
    checking: cafe => deps.checks.checking(cafe)
  })
  app.get('/backups/health', async c => c.json(await health()))
  // A check now (have/want and a proof), of one cafe or all; repairs start at once; answers when every check ended.
  app.post('/backups/check', async c => {
    const { cafe } = c.req.header('content-type')?.includes('application/json') === true ? await readJsonObject(c.req.raw, LOCAL_API_MAX_JSON) : {}
    if (cafe !== undefined) await deps.checks.check((await deps.client.get(stringField('cafe', cafe, 128))).id)
    else await deps.checks.checkAll()
    return c.json(await health())
  })
  app.get('/backups/:cid', async c => c.json(await deps.backups.status(c.req.param('cid'), { signal: c.req.raw.signal })))
  app.delete('/backups/:cid', async c => c.json(await deps.backups.unpin(c.req.param('cid'), { signal: c.req.raw.signal }), 202))
}

/** Threads: a HEAD and its metadata, snapshotted to every cafe. */
function threadRoutes (app: Hono, deps: LocalApiDeps): void {
  app.put('/threads/:id', async c => {
    const t = await deps.threads.put(c.req.param('id'), await readJsonObject(c.req.raw, LOCAL_API_MAX_JSON))
    // The HEAD's blocks are backed up with the snapshot when they are on this device.
    // No cafe yet is fine: the thread is kept here; snapshots go out with the next update.
    const skip = (...reasons: string[]) => (err: unknown): undefined => { if (!reasons.includes((err as LightcafeError).reason)) throw err }
    const cafes = await deps.backups.snapshot(t.id).catch(skip('NO_CAFES')) ?? 0
    if (cafes > 0) await deps.backups.backup(t.head).catch(skip('DAG_NOT_LOCAL'))
    return c.json({ id: t.id, head: t.head, cafes })
  })
  app.get('/threads', async c => c.json((await deps.threads.list()).map(({ id, head, meta }) => ({ id, head, meta }))))
}

/**
 * A recovery's progress as lines of JSON while it runs, at most one per RECOVERY_STREAM_MS (a
 * DAG of many blocks does not flood the page), the outcome last.
 */
function recoveryStream (deps: LocalApiDeps, cafe: string, signal: AbortSignal): Response {
  // The reader gone, the recovery goes on (it is the page's, not this view's); only the view stops.
  const { body, put, finish } = throttledNdjson(signal, { everyMs: RECOVERY_STREAM_MS })
  let latest: RecoveryProgress | undefined
  deps.recover(cafe, { onProgress: e => { latest = e.detail; put('recovery', e.detail) } })
    .then(done => { finish(done) }, () => { finish(latest ?? deps.recovery(cafe)) })
  return new Response(body, { headers: { 'content-type': 'application/x-ndjson' } })
}

/**
 * The backups as lines of JSON: the list first, then each change to a backup (its state at one
 * cafe, bytes sent, or removed), at most one per backup and cafe each BACKUP_STREAM_MS, until
 * the page goes away (aborts, or cancels the body) or BACKUP_STREAM_MAX_MS (it opens another):
 * the watch and the timers end with it.
 */
async function backupStream (backups: BackupOutbox, signal: AbortSignal): Promise<Response> {
  const { body, send, put, release, close, ended } = throttledNdjson(signal, { everyMs: BACKUP_STREAM_MS, maxMs: BACKUP_STREAM_MAX_MS, held: true })
  // Watched before the list is read: a change meanwhile comes after it, nothing is missed.
  backups.watch({
    signal: ended,
    onProgress: e => { put(e.type === 'backup:progress' ? `${e.detail.cid}|${e.detail.cafe.id}` : `${e.detail.cid}|${e.detail.id}`, e) }
  })
  try {
    send({ type: 'backups', backups: await backups.list({ signal }) })
  } catch (err) { close(); throw err }
  release()
  return new Response(body, { headers: { 'content-type': 'application/x-ndjson' } })
}
