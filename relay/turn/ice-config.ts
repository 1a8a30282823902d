import { readFile } from 'node:fs/promises'
import { RateLimiter } from '../../src/shared/rate-limit.ts'
import { iceServersFor } from './credentials.ts'
import { startCoturn, turnserverPath } from './coturn.ts'
import type { IceServerEntry } from '../../src/node/ice-servers/index.ts'
import type { Coturn, CoturnInit } from './coturn.ts'
import type { TurnServerConfig } from './credentials.ts'

/**
 * The STUN/TURN side of a relay: our own coturn (when installed and there is a name or address
 * pages reach it by) plus servers named in configuration (a hosted STUN/TURN service), and
 * what each page is given: every server, TURN credentials minted for it now.
 */
export interface IceConfig {
  coturn?: Coturn
  /** Why our coturn is not running, when it is not (printed once at start). */
  skipped?: string
  servers: TurnServerConfig[]
  /**
   * For one requester (its peer id, or any id): `host` replaces our coturn's name (LAN mode: the
   * address the request came to); `source` is where it asks from (IPv4 address, IPv6 /64).
   * Peer ids cost nothing, and each credential holds its own quota of allocations: one source
   * is given at most MINT_LIMITS credentials; past that, STUN only until its bucket refills.
   */
  forRequester(id: string, at?: { host?: string, source?: string }): IceServerEntry[]
  stop(): Promise<void>
}

/** TURN credentials minted per source address: a household's pages and reloads, not a sybil's thousands. */
export const MINT_LIMITS = { burst: 16, perHour: 16 } as const

/**
 * Extra servers from a JSON file: `[{ "urls": ["stun:stun.example.org:3478"] }, { "urls":
 * ["turn:turn.example.org:3478"], "secretFile": "/etc/lightcafe/turn-secret" }]`. A TURN
 * server needs the shared secret of its own coturn-style REST auth: no long-lived passwords.
 */
export async function readIceServersFile (file: string): Promise<TurnServerConfig[]> {
  const list = JSON.parse(await readFile(file, 'utf8')) as unknown
  if (!Array.isArray(list)) throw new Error(`${file}: expected a JSON array of {urls, secretFile?}`)
  const out: TurnServerConfig[] = []
  for (const entry of list as Array<{ urls?: unknown, secretFile?: unknown, ttlSeconds?: unknown }>) {
    const urls = (typeof entry.urls === 'string' ? [entry.urls] : Array.isArray(entry.urls) ? entry.urls : []).filter((u): u is string => typeof u === 'string' && /^(stuns?|turns?):\S+$/.test(u))
    if (urls.length === 0) throw new Error(`${file}: an entry without stun:/turn: urls`)
    const secret = typeof entry.secretFile === 'string' ? (await readFile(entry.secretFile, 'utf8')).trim() : undefined
    if (urls.some(u => u.startsWith('turn')) && secret == null) throw new Error(`${file}: TURN ${urls.join(' ')} needs "secretFile" (its shared secret)`)
    out.push({ urls, ...(secret != null ? { secret } : {}), ...(typeof entry.ttlSeconds === 'number' ? { ttlSeconds: entry.ttlSeconds } : {}) })
  }
  return out
}

export interface IceConfigInit {
  /** Start our coturn: false (never), or its settings; it is skipped with a reason when `turnserver` is missing or no `host` is known. */
  coturn: false | (CoturnInit & { host?: string })
  /** Servers named in configuration. */
  extra?: TurnServerConfig[]
  /** TURN credential lifetime (s). */
  ttlSeconds?: number
}

export async function startIceConfig (init: IceConfigInit): Promise<IceConfig> {
  let coturn: Coturn | undefined
  let skipped: string | undefined
  const host = init.coturn === false ? undefined : init.coturn.host
  if (init.coturn === false) skipped = 'turned off'
  else if (turnserverPath() == null && init.coturn.binary == null) skipped = 'coturn is not installed (Debian package `coturn`)'
  else if (host == null) skipped = 'no public name or address to give pages (--turn-host, or --announce with a DNS name)'
  else {
    // A TURN server that does not come up (a port taken, coturn failing) leaves the relay or
    // the LAN servers running without it: direct and STUN paths, and the relayed last resort.
    coturn = await startCoturn(init.coturn).catch((err: Error) => { skipped = `it did not start: ${err.message}`; return undefined })
  }
  const extra = init.extra ?? []
  const ours = (h: string): TurnServerConfig[] => coturn == null ? [] : [{ urls: coturn.urls(h), secret: coturn.secret, ttlSeconds: init.ttlSeconds }]
  const mints = new RateLimiter({ capacity: MINT_LIMITS.burst, refillPerSecond: MINT_LIMITS.perHour / 3600 })
  return {
    coturn,
    skipped,
    servers: [...ours(host ?? ''), ...extra],
    forRequester: (id, at = {}) => {
      const servers = [...ours(at.host ?? host ?? ''), ...extra]
      const minting = servers.some(s => s.secret != null && s.urls.some(u => /^turns?:/.test(u)))
      if (minting && at.source != null && !mints.take(at.source).ok) return iceServersFor(servers.map(s => ({ urls: s.urls.filter(u => /^stuns?:/.test(u)) })), id)
      return iceServersFor(servers, id)
    },
    stop: async () => { await coturn?.stop() }
  }
}
