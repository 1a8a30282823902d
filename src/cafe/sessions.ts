import { SignJWT, errors, importJWK, jwtVerify } from 'jose'
import { randomBytes, toBase64url } from '../shared/bytes.ts'
import { UnauthorizedError } from '../shared/errors.ts'
import { SESSION_LIMITS } from './limits.ts'
import type { CryptoKey, JWTPayload } from 'jose'

export type Scope = 'access' | 'refresh'

export interface SessionClaims { sub: string, sid: string, peer: string, jti: string, exp: number, scope: Scope }

export interface IssuedPair { access: string, exp: number, refresh: string, rexp: number, refreshJti: string }

/** The audience of every JWT of this cafe: tokens of another cafe are refused by it. */
export function audienceOf (cafePeerId: string): string { return `lightcafe:cafe:${cafePeerId}` }

/**
 * EdDSA JWTs signed with the cafe's peer key (imported as a JWK; verification uses the public
 * half only). Whether the session still exists, and the caller's peer, are the host's checks.
 */
export class SessionTokens {
  readonly #issuer: string
  readonly #audience: string
  readonly #now: () => number
  readonly #keys: Promise<{ sign: CryptoKey, verify: CryptoKey }>

  constructor (cafePeerId: string, privateKeyRaw: Uint8Array, now: () => number) {
    if (privateKeyRaw.length !== 64) throw new TypeError('expected a 64-byte Ed25519 private key (seed | public key)')
    this.#issuer = cafePeerId
    this.#audience = audienceOf(cafePeerId)
    this.#now = now
    const x = toBase64url(privateKeyRaw.subarray(32))
    const d = toBase64url(privateKeyRaw.subarray(0, 32))
    this.#keys = (async () => ({
      sign: await importJWK({ kty: 'OKP', crv: 'Ed25519', x, d }, 'EdDSA') as CryptoKey,
      verify: await importJWK({ kty: 'OKP', crv: 'Ed25519', x }, 'EdDSA') as CryptoKey
    }))()
  }

  async #sign (claims: { sub: string, sid: string, peer: string, scope: Scope }, ttlS: number): Promise<{ jwt: string, exp: number, jti: string }> {
    const iat = Math.floor(this.#now() / 1000)
    const exp = iat + ttlS
    const jti = toBase64url(randomBytes(16))
    const jwt = await new SignJWT({ scope: claims.scope, sid: claims.sid, peer: claims.peer })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' })
      .setIssuer(this.#issuer)
      .setSubject(claims.sub)
      .setAudience(this.#audience)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .setJti(jti)
      .sign((await this.#keys).sign)
    return { jwt, exp, jti }
  }

  /** A new access + refresh pair for a session. */
  async issue (s: { sub: string, sid: string, peer: string }): Promise<IssuedPair> {
    const access = await this.#sign({ ...s, scope: 'access' }, SESSION_LIMITS.accessTtlS)
    const refresh = await this.#sign({ ...s, scope: 'refresh' }, SESSION_LIMITS.refreshTtlS)
    return { access: access.jwt, exp: access.exp, refresh: refresh.jwt, rexp: refresh.exp, refreshJti: refresh.jti }
  }

  /**
   * Verifies algorithm, signature, issuer, audience, expiry and scope, each failure with its
   * own reason (all 401): JWT_INVALID (not a JWT of ours in form), JWT_BAD_ALG, JWT_BAD_SIGNATURE,
   * JWT_WRONG_ISSUER, JWT_WRONG_AUDIENCE, JWT_EXPIRED, WRONG_SCOPE.
   */
  async verify (jwt: unknown, scope: Scope): Promise<SessionClaims> {
    if (typeof jwt !== 'string' || jwt.length > SESSION_LIMITS.maxJwtLength) throw new UnauthorizedError('JWT_INVALID', 'a session JWT is required')
    let payload: JWTPayload
    try {
      ({ payload } = await jwtVerify(jwt, (await this.#keys).verify, {
        // Only EdDSA: `none`, and HS256 keyed with our public key, are refused before any key use.
        algorithms: ['EdDSA'],
        issuer: this.#issuer,
        audience: this.#audience,
        // jose reads its own clock unless told; the host's clock drives expiry (and tests).
        currentDate: new Date(this.#now()),
        clockTolerance: SESSION_LIMITS.clockToleranceS,
        requiredClaims: ['sub', 'exp', 'jti', 'iat']
      }))
    } catch (err) {
      throw jwtError(err)
    }
    const { sub, sid, peer, jti, exp } = payload
    if (typeof sid !== 'string' || typeof peer !== 'string' || typeof sub !== 'string' || typeof jti !== 'string' || typeof exp !== 'number') {
      throw new UnauthorizedError('JWT_INVALID', 'the session JWT lacks session claims')
    }
    if (payload.scope !== scope) {
      throw new UnauthorizedError('WRONG_SCOPE', `a ${scope} JWT is required here, not a ${String(payload.scope)} one`)
    }
    return { sub, sid, peer, jti, exp, scope }
  }
}

function jwtError (err: unknown): UnauthorizedError {
  if (err instanceof errors.JWTExpired) return new UnauthorizedError('JWT_EXPIRED', 'the session JWT has expired; refresh it')
  if (err instanceof errors.JOSEAlgNotAllowed) return new UnauthorizedError('JWT_BAD_ALG', 'session JWTs are EdDSA-signed; no other algorithm is accepted')
  if (err instanceof errors.JWSSignatureVerificationFailed) return new UnauthorizedError('JWT_BAD_SIGNATURE', 'the session JWT is not signed by this cafe')
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'iss') return new UnauthorizedError('JWT_WRONG_ISSUER', 'the session JWT was issued by another cafe')
    if (err.claim === 'aud') return new UnauthorizedError('JWT_WRONG_AUDIENCE', 'the session JWT is meant for another service')
    return new UnauthorizedError('JWT_INVALID', `the session JWT has an invalid ${err.claim} claim`)
  }
  return new UnauthorizedError('JWT_INVALID', 'the session JWT is malformed')
}

/** The bearer token of an Authorization header. */
export function bearer (header: string | undefined | null): string {
  const m = /^Bearer ([A-Za-z0-9_.-]+)$/.exec(header ?? '')
  if (m == null) throw new UnauthorizedError('JWT_MISSING', 'send Authorization: Bearer <session JWT>')
  return m[1]
}
