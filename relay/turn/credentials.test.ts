import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { TURN_CREDENTIALS, iceServersFor, turnCredential } from './credentials.ts'

const SECRET = 'a-shared-secret-of-32-characters'
const NOW = Date.UTC(2026, 0, 2, 3, 4, 5)

describe('TURN credentials (coturn shared-secret scheme)', () => {
  it('names the expiry and the holder, and signs the name with HMAC-SHA1 of the secret', () => {
    const c = turnCredential(SECRET, '12D3KooWabc', 3600, NOW)
    const expiry = Math.floor(NOW / 1000) + 3600
    expect(c.username).toBe(`${expiry}:12D3KooWabc`)
    expect(c.expiresAt).toBe(expiry * 1000)
    expect(c.credential).toBe(createHmac('sha1', SECRET).update(c.username).digest('base64'))
    // Another secret, another password; another time, another name.
    expect(turnCredential(SECRET + 'x', '12D3KooWabc', 3600, NOW).credential).not.toBe(c.credential)
    expect(turnCredential(SECRET, '12D3KooWabc', 3600, NOW + 1000).username).not.toBe(c.username)
  })

  it('lasts a day by default, within bounds; an id cannot smuggle a separator', () => {
    expect(turnCredential(SECRET, 'x', undefined, NOW).expiresAt).toBe((Math.floor(NOW / 1000) + TURN_CREDENTIALS.ttlSeconds) * 1000)
    expect(() => turnCredential(SECRET, 'x', 10, NOW)).toThrow(RangeError)
    expect(() => turnCredential(SECRET, 'x', 30 * 86400, NOW)).toThrow(RangeError)
    expect(() => turnCredential('short', 'x', 3600, NOW)).toThrow(RangeError)
    expect(turnCredential(SECRET, 'a:b/c\nd', 3600, NOW).username).toMatch(/^\d+:abcd$/)
    expect(turnCredential(SECRET, '::', 3600, NOW).username).toMatch(/^\d+:[0-9a-f]{12}$/)
  })

  it('gives STUN as it is and TURN with a credential minted per requester; a TURN server without a secret is left out', () => {
    const servers = iceServersFor([
      { urls: ['stun:turn.example.org:3478', 'turn:turn.example.org:3478?transport=udp'], secret: SECRET, ttlSeconds: 3600 },
      { urls: ['turn:nosecret.example.org:3478'] },
      { urls: ['stun:stun.example.org:19302'] }
    ], 'peerA', NOW)
    expect(servers.map(s => s.urls)).toEqual([['stun:turn.example.org:3478'], ['turn:turn.example.org:3478?transport=udp'], ['stun:stun.example.org:19302']])
    expect(servers[0].credential).toBeUndefined()
    expect(servers[1].username).toBe(`${Math.floor(NOW / 1000) + 3600}:peerA`)
    const other = iceServersFor([{ urls: ['turn:turn.example.org:3478'], secret: SECRET, ttlSeconds: 3600 }], 'peerB', NOW)
    expect(other[0].credential).not.toBe(servers[1].credential)
  })
})
