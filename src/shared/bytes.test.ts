import { describe, expect, it } from 'vitest'
import { concat, fromBase64url, toBase64url } from './bytes.ts'

describe('base64url', () => {
  it('round-trips every length without padding, in the URL alphabet', () => {
    for (let n = 0; n < 40; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 97 + 251) & 0xff)
      const text = toBase64url(bytes)
      expect(text).toMatch(/^[A-Za-z0-9_-]*$/)
      expect(fromBase64url(text)).toEqual(bytes)
    }
    expect(toBase64url(Uint8Array.of(0xfb, 0xff, 0x01))).toBe('-_8B')
  })

  it('refuses padding, the other alphabet, an impossible length and stray trailing bits (one text per byte string)', () => {
    for (const text of ['AQ==', '+/8B', 'A', 'AR', 'AQJ']) expect(() => fromBase64url(text), text).toThrow(TypeError)
    expect(fromBase64url('AQ')).toEqual(Uint8Array.of(1))
  })
})

describe('concat', () => {
  it('joins in order', () => {
    expect(concat([Uint8Array.of(1, 2), new Uint8Array(0), Uint8Array.of(3)])).toEqual(Uint8Array.of(1, 2, 3))
  })
})
