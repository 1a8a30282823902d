import { describe, expect, it } from 'vitest'
import { base64urlLength, concat, fromBase64url, toBase64url } from './bytes.ts'

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

describe('base64urlLength', () => {
  /** What the decoder says of a text: its byte length when it takes it and gives it back unchanged. */
  const decoded = (text: string): number | undefined => {
    try { const bytes = fromBase64url(text); return toBase64url(bytes) === text ? bytes.length : undefined } catch { return undefined }
  }

  it('takes exactly the texts the decoder takes, and gives their byte length', () => {
    const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=. '
    const texts = ['', 'A', 'AA', 'AQ', 'AR', 'AQJ', 'AQI', 'AQE', '-_8B', '+/8B', 'AQ==', 'AQ=', ' AQ', 'AQ\n', '\u00e9AAA']
    // Every one- to three-character text over the alphabet (and a few outsiders), then random longer ones.
    for (const a of chars) { texts.push(a); for (const b of chars) { texts.push(a + b); for (const c of 'AQgw_-+=') texts.push(a + b + c) } }
    let seed = 7
    const next = (): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed }
    for (let i = 0; i < 2000; i++) texts.push(Array.from({ length: 4 + (next() % 40) }, () => chars[next() % (i % 2 === 0 ? 64 : chars.length)]).join(''))
    for (const text of texts) expect(base64urlLength(text), JSON.stringify(text)).toBe(decoded(text))
    expect(base64urlLength(toBase64url(new Uint8Array(1500)))).toBe(1500)
  })
})

describe('concat', () => {
  it('joins in order', () => {
    expect(concat([Uint8Array.of(1, 2), new Uint8Array(0), Uint8Array.of(3)])).toEqual(Uint8Array.of(1, 2, 3))
  })
})
