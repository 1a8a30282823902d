import { createHmac, randomBytes } from 'node:crypto'
import type { IceServerEntry } from '../../src/node/ice-servers/index.ts'

/**
 * coturn's shared-secret ("TURN REST API") credentials: username `<expiry unix time>:<id>`,
 * password base64(HMAC-SHA1(secret, username)). coturn checks the expiry on every request it
 * authenticates (allocations and their refreshes), so a credential also bounds how long a
 * TURN-relayed connection made with it can last. The secret never leaves the server.
 */
export const TURN_CREDENTIALS = {
  /** Default lifetime: a day, so a connection through TURN outlives a day's use; pages ask again 10 min before. */
  ttlSeconds: 24 * 3600,
  minTtlSeconds: 15 * 60,
  maxTtlSeconds: 7 * 24 * 3600
} as const

export interface TurnCredential { username: string, credential: string, expiresAt: number }

/** A credential valid for `ttlSeconds` from `now` (ms); `id` names the holder in coturn's log (no `:`, bounded). */
export function turnCredential (secret: string, id: string, ttlSeconds: number = TURN_CREDENTIALS.ttlSeconds, now = Date.now()): TurnCredential {
  if (secret.length < 16) throw new RangeError('the TURN secret must be at least 16 characters')
  if (!(Number.isInteger(ttlSeconds) && ttlSeconds >= TURN_CREDENTIALS.minTtlSeconds && ttlSeconds <= TURN_CREDENTIALS.maxTtlSeconds)) {
    throw new RangeError(`TURN credential lifetime must be ${TURN_CREDENTIALS.minTtlSeconds}–${TURN_CREDENTIALS.maxTtlSeconds} s`)
  }
  const expiry = Math.floor(now / 1000) + ttlSeconds
  const safeId = id.replace(/[^A-Za-z0-9._-]/g, '').slice(0, 64)
  const username = `${expiry}:${safeId === '' ? randomBytes(6).toString('hex') : safeId}`
  return { username, credential: createHmac('sha1', secret).update(username).digest('base64'), expiresAt: expiry * 1000 }
}

/** A TURN/STUN server the relay hands out: its URLs and, for TURN, the secret its credentials are minted with. */
export interface TurnServerConfig { urls: string[], secret?: string, ttlSeconds?: number }

/**
 * What one requester gets: every STUN server as it is, every TURN server with a credential
 * minted for `id` now. A TURN server without a secret is left out (it would need a
 * long-lived password, which never goes into anything a page is given).
 */
export function iceServersFor (servers: TurnServerConfig[], id: string, now = Date.now()): IceServerEntry[] {
  const out: IceServerEntry[] = []
  for (const s of servers) {
    const turn = s.urls.filter(u => /^turns?:/.test(u))
    const stun = s.urls.filter(u => /^stuns?:/.test(u))
    if (stun.length > 0) out.push({ urls: stun })
    if (turn.length > 0 && s.secret != null) out.push({ urls: turn, ...turnCredential(s.secret, id, s.ttlSeconds, now) })
  }
  return out
}
