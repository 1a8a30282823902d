import { equalBytes, fromBase64url, randomBytes, sha256, toBase64url } from '../shared/bytes.ts'
import { ForbiddenError, UnauthorizedError } from '../shared/errors.ts'
import { SESSION_LIMITS } from './limits.ts'
import type { TokenRecord } from './records.ts'

// `${id}.${secret}`: 12 bytes and 32 bytes, base64url without padding.
const TOKEN_FORM = /^([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{43})$/

const invalid = (): UnauthorizedError => new UnauthorizedError('TOKEN_INVALID', 'the access token is not one this cafe issued')

/** A new access token: the string shown once to the owner, and the record kept. */
export async function newToken (now: Date): Promise<{ token: string, record: TokenRecord }> {
  const id = toBase64url(randomBytes(SESSION_LIMITS.tokenIdBytes))
  const secret = randomBytes(SESSION_LIMITS.tokenSecretBytes)
  // SHA-256, not a slow password hash (bcrypt, scrypt): the secret has 256 bits of entropy,
  // so there is nothing to brute-force, and a slow hash would only slow every registration.
  const hash = toBase64url(await sha256(secret))
  return { token: `${id}.${toBase64url(secret)}`, record: { id, hash, created: now.toISOString() } }
}

export function parseToken (token: string): { id: string, secret: Uint8Array } {
  const m = TOKEN_FORM.exec(token)
  if (m == null) throw invalid()
  try { return { id: m[1], secret: fromBase64url(m[2]) } } catch { throw invalid() }
}

/**
 * The token's state rules for `address`: not revoked, and unused or already bound to this
 * account (a token serves one account, which may use it again). Returns the record bound to
 * `address`. The store runs it again inside the registration transaction, so a revocation or
 * a rival registration that lands meanwhile is not overwritten.
 */
export function bindToken (record: TokenRecord | undefined, address: string): TokenRecord {
  if (record == null) throw invalid()
  if (record.removed != null && record.usedBy === address) throw new ForbiddenError('CLIENT_REMOVED', 'the cafe owner removed this client; it may register again only with a new invitation')
  if (record.revoked != null) throw new UnauthorizedError('TOKEN_REVOKED', 'the cafe owner revoked this access token')
  if (record.usedBy != null && record.usedBy !== address) throw new ForbiddenError('TOKEN_USED', 'this access token already registered another account')
  return { ...record, usedBy: address }
}

/** Checks a presented secret against its record (constant time), then the state rules. */
export async function checkToken (record: TokenRecord | undefined, secret: Uint8Array, address: string): Promise<TokenRecord> {
  if (record == null || !equalBytes(fromBase64url(record.hash), await sha256(secret))) throw invalid()
  return bindToken(record, address)
}
