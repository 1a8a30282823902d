import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { renderUnicodeCompact } from 'uqr'
import { InvalidInputError, UnavailableError, refusalError } from '../src/shared/errors.ts'
import { joinLink } from '../src/ui/invitation.ts'
import { printableLog } from '../src/shared/printable.ts'

/** What the running cafe wrote at start (cafe-main.ts). */
interface CafeState { pid: number, peerId: string, multiaddrs: string[], http: string, owner: string }

/** No cafe state in the folder, or the cafe named there does not answer (CAFE_UNREACHABLE, 503). */
export class CafeNotRunningError extends UnavailableError {
  static override name = 'CafeNotRunningError'
  override name = 'CafeNotRunningError'
  constructor (details: string) { super('CAFE_UNREACHABLE', details) }
}

const USAGE = `usage: npm run cafe -- [--dir DIR] COMMAND
  token create               a new access token, its invitation link and QR code
  token list                 tokens (ids, used by, revoked)
  token revoke ID
  clients list               registered clients, their storage and inbox
  clients remove ADDRESS     removes a client and everything kept for it
  settings                   shows the settings
  settings KEY=VALUE ...     name=, open=true|false, enabled=true|false, quotaBytes=N`

/**
 * The address a guest's browser dials from the app at `app`: WebSockets (WSS when the app is
 * HTTPS: a secure page may not open ws://), on the app's host if the cafe listens there, else
 * on a non-loopback address (a loopback one would mean the guest's own device).
 */
export function guestAddress (multiaddrs: string[], app: string): string | undefined {
  const url = new URL(app)
  const secure = url.protocol === 'https:'
  const ws = multiaddrs.filter(ma => (secure ? /\/tls\/ws\// : /\/tcp\/\d+\/ws\//).test(ma) && !ma.includes('/p2p-circuit'))
  const onHost = ws.find(ma => ma.split('/')[2] === url.hostname)
  const loopback = (ma: string): boolean => /^\/ip4\/127\./.test(ma)
  const appOnLoopback = ['127.0.0.1', 'localhost'].includes(url.hostname)
  return onHost ?? ws.find(ma => appOnLoopback ? loopback(ma) : !loopback(ma)) ?? ws[0]
}

async function owner (dir: string): Promise<{ state: CafeState, call: (method: string, path: string, body?: unknown) => Promise<{ status: number, body: any }> }> {
  let state: CafeState
  try { state = JSON.parse(await readFile(join(dir, 'cafe.json'), 'utf8')) as CafeState } catch {
    throw new CafeNotRunningError(`no cafe is running with state in ${dir} (start it with npm run cafe)`)
  }
  const secret = (await readFile(join(dir, 'owner.secret'), 'utf8')).trim()
  return {
    state,
    call: async (method, path, body) => {
      const res = await fetch(`${state.owner}/api/v0${path}`, {
        method,
        headers: { authorization: `Bearer ${secret}`, ...(body != null ? { 'content-type': 'application/json' } : {}) },
        ...(body != null ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(15_000)
      }).catch((err: Error) => { throw new CafeNotRunningError(`the cafe at ${state.owner} does not answer (${err.message})`) })
      return { status: res.status, body: res.status === 204 ? null : await res.json() }
    }
  }
}

function setting (kv: string): Record<string, unknown> {
  const at = kv.indexOf('=')
  if (at < 1) throw new InvalidInputError('INVALID_FIELD', `not KEY=VALUE: ${kv}`)
  const key = kv.slice(0, at)
  const value = kv.slice(at + 1)
  if (key === 'name') return { name: value }
  if (key === 'open' || key === 'enabled') return { [key]: value === 'true' }
  if (key === 'quotaBytes') return { quotaBytes: Number(value) }
  throw new InvalidInputError('INVALID_FIELD', `unknown setting ${key} (name, open, enabled, quotaBytes)`)
}

/** Runs one owner command against the running cafe; returns the exit code. */
export async function runCommand (words: string[], opts: { dir: string, app: string, print?: (s: string) => void }): Promise<number> {
  // One line a call, written printable: values from the cafe (peer ids, names) may be anyone's.
  const print = printableLog(opts.print ?? ((s: string) => { console.log(s) }))
  const lines = (text: string): void => { for (const line of text.split('\n')) print(line) }
  const [what, verb, arg] = words
  try {
    const { state, call } = await owner(opts.dir)
    const ok = (r: { status: number, body: any }): any => {
      if (r.status >= 400) throw refusalError(r.status, r.body)
      return r.body
    }
    if (what === 'token' && verb === 'create') {
      const { token, id } = ok(await call('POST', '/tokens'))
      const peer = ok(await call('GET', '/peer'))
      const cafe = guestAddress(peer.multiaddrs, opts.app) ?? state.peerId
      const page = new URL('/', opts.app)
      for (const r of peer.relays) page.searchParams.append('relay', r.multiaddr)
      const link = joinLink(page.toString(), cafe, token)
      lines(`token ${id} (shown once; it registers one account)\n${token}\n\ninvitation: ${link}\n`)
      lines(renderUnicodeCompact(link, { border: 1 }))
      print(`over HTTP (pinning clients, curl): register at ${state.http}/cafe/v1/sessions with this token (docs/API.md)`)
      return 0
    }
    if (what === 'token' && verb === 'list') {
      for (const t of ok(await call('GET', '/tokens'))) print(`${t.id}  created ${t.created}${t.usedBy != null ? `  used by ${t.usedBy}` : ''}${t.revoked != null ? `  revoked ${t.revoked}` : ''}`)
      return 0
    }
    if (what === 'token' && verb === 'revoke' && arg != null) { ok(await call('DELETE', `/tokens/${encodeURIComponent(arg)}`)); print(`revoked ${arg}`); return 0 }
    if (what === 'clients' && verb === 'list') {
      for (const c of ok(await call('GET', '/clients'))) print(`${c.address}  peer ${c.peerId || '-'}  ${c.bytes}/${c.quota} bytes  ${c.pins} pins${c.lost > 0 ? ` (+${c.lost} with lost blocks)` : ''}  ${c.snapshots} snapshots  ${c.inbox} waiting  last seen ${c.lastSeen}`)
      return 0
    }
    if (what === 'clients' && verb === 'remove' && arg != null) { ok(await call('DELETE', `/clients/${encodeURIComponent(arg)}`)); print(`removed ${arg}`); return 0 }
    if (what === 'settings') {
      const changes = words.slice(1).map(setting)
      const view = changes.length === 0 ? ok(await call('GET', '/cafe')) : ok(await call('PUT', '/cafe', Object.assign({}, ...changes)))
      lines(JSON.stringify(view, null, 2))
      return 0
    }
    lines(USAGE)
    return 2
  } catch (err) {
    print(`error: ${(err as Error).message}`)
    return 1
  }
}
