import { describe, expect, it } from 'vitest'
import { fromBase64url, sha256, toBase64url } from '../shared/bytes.ts'
import { bindToken, checkToken, newToken, parseToken } from './tokens.ts'

async function reason (p: Promise<unknown>): Promise<[string | undefined, number | undefined]> {
  const err = await p.then(() => null, (e: unknown) => e) as { reason?: string, status?: number } | null
  return [err?.reason, err?.status]
}

describe('access token hashing and verification', () => {
  const now = new Date('2026-01-01T00:00:00Z')

  it('issues id.secret and keeps only base64url(sha256(secret))', async () => {
    const { token, record } = await newToken(now)
    const { id, secret } = parseToken(token)
    expect(id).toBe(record.id)
    expect(fromBase64url(id)).toHaveLength(12)
    expect(secret).toHaveLength(32)
    expect(record.hash).toBe(toBase64url(await sha256(secret)))
    expect(record).toEqual({ id, hash: record.hash, created: now.toISOString() })
    expect((await newToken(now)).token).not.toBe(token)
  })

  it('accepts the right secret and refuses a wrong one, an unknown id and malformed strings', async () => {
    const { token, record } = await newToken(now)
    const { secret } = parseToken(token)
    expect(await checkToken(record, secret, 'alice')).toEqual({ ...record, usedBy: 'alice' })
    const wrong = secret.slice()
    wrong[31] ^= 1
    expect(await reason(checkToken(record, wrong, 'alice'))).toEqual(['TOKEN_INVALID', 401])
    expect(await reason(checkToken(undefined, secret, 'alice'))).toEqual(['TOKEN_INVALID', 401])
    for (const bad of ['', 'abc', `${record.id}.`, `${record.id}.${toBase64url(secret)}x`, `${record.id}:${toBase64url(secret)}`, `${record.id}.${toBase64url(secret).replace(/.$/, '+')}`]) {
      expect(() => parseToken(bad), bad).toThrow(expect.objectContaining({ reason: 'TOKEN_INVALID', status: 401 }))
    }
    // The same secret spelled with stray bits in its last character: one token has one text.
    const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const text = toBase64url(secret)
    const stray = `${record.id}.${text.slice(0, -1)}${A[A.indexOf(text.at(-1)!) | 1]}`
    expect(() => parseToken(stray)).toThrow(expect.objectContaining({ reason: 'TOKEN_INVALID', status: 401 }))
  })

  it('refuses revoked tokens and tokens bound to another account; the bound account may reuse it', async () => {
    const { token, record } = await newToken(now)
    const { secret } = parseToken(token)
    const bound = bindToken(record, 'alice')
    expect(bindToken(bound, 'alice')).toEqual(bound)
    expect(await reason(checkToken(bound, secret, 'bob'))).toEqual(['TOKEN_USED', 403])
    expect(await reason(checkToken({ ...record, revoked: now.toISOString() }, secret, 'alice'))).toEqual(['TOKEN_REVOKED', 401])
    expect(await reason(checkToken({ ...bound, revoked: now.toISOString() }, secret, 'alice'))).toEqual(['TOKEN_REVOKED', 401])
  })
})
