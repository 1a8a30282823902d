import { ed25519 } from '@noble/curves/ed25519.js'
import { afterAll, describe, expect, it } from 'vitest'
import { ed25519Backend, resetEd25519Backend, strictlyEncoded, verifyEd25519, verifyEd25519Sync } from './ed25519.ts'

const L = 2n ** 252n + 27742317777372353535851937790883648493n
const P = 2n ** 255n - 19n

const le = (n: bigint): Uint8Array => { const b = new Uint8Array(32); for (let i = 0; i < 32; i++) { b[i] = Number(n & 0xffn); n >>= 8n } return b }
const num = (b: Uint8Array): bigint => { let n = 0n; for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]); return n }
const cat = (a: Uint8Array, b: Uint8Array): Uint8Array => { const o = new Uint8Array(64); o.set(a); o.set(b, 32); return o }

const seed = new Uint8Array(32).fill(42)
const publicKey = ed25519.getPublicKey(seed)
const message = new TextEncoder().encode('lightcafe/test')
const signature = ed25519.sign(message, seed)
const identity = le(1n)
/** The identity key with R = identity and S = 0 "signs" every message under the cofactored equation (ZIP-215 accepts it). */
const anyMessageForgery = { publicKey: identity, signature: cat(identity, new Uint8Array(32)) }

afterAll(() => { resetEd25519Backend() })

describe.each([['webcrypto', true], ['noble', false]] as const)('verifyEd25519 through %s', (_name, native) => {
  it('accepts a valid signature and nothing altered', async () => {
    resetEd25519Backend(native)
    expect(await verifyEd25519(publicKey, message, signature)).toBe(true)
    expect(await verifyEd25519(publicKey, Uint8Array.of(...message, 0), signature)).toBe(false)
    const flipped = signature.slice(); flipped[5] ^= 1
    expect(await verifyEd25519(publicKey, message, flipped)).toBe(false)
    expect(await verifyEd25519(ed25519.getPublicKey(new Uint8Array(32).fill(1)), message, signature)).toBe(false)
    expect(await verifyEd25519(publicKey, message, signature.subarray(1))).toBe(false)
  })

  it('refuses S + L, the second signature anyone could make from a valid one', async () => {
    resetEd25519Backend(native)
    const s = num(signature.subarray(32)) + L
    expect(s < 2n ** 256n).toBe(true)
    expect(await verifyEd25519(publicKey, message, cat(signature.subarray(0, 32), le(s)))).toBe(false)
  })

  it('refuses a small-order key, which "signs" every message', async () => {
    resetEd25519Backend(native)
    // The forgery is real: the permissive (ZIP-215) rule, noble's default, accepts it.
    expect(ed25519.verify(anyMessageForgery.signature, message, anyMessageForgery.publicKey)).toBe(true)
    expect(await verifyEd25519(anyMessageForgery.publicKey, message, anyMessageForgery.signature)).toBe(false)
    expect(verifyEd25519Sync(anyMessageForgery.publicKey, message, anyMessageForgery.signature)).toBe(false)
  })

  it('refuses non-canonical encodings of A and R', async () => {
    resetEd25519Backend(native)
    // y = p + 1 encodes the identity a second way; x = 0 with the sign bit set a third.
    expect(await verifyEd25519(le(P + 1n), message, anyMessageForgery.signature)).toBe(false)
    const signedZero = identity.slice(); signedZero[31] |= 0x80
    expect(await verifyEd25519(publicKey, message, cat(signedZero, signature.subarray(32)))).toBe(false)
    expect(await verifyEd25519(publicKey, message, cat(le(P + 3n), signature.subarray(32)))).toBe(false)
  })
})

describe('the strict checks', () => {
  it('pass exactly the well-formed signature', () => {
    expect(strictlyEncoded(publicKey, signature)).toBe(true)
    expect(strictlyEncoded(identity, signature)).toBe(false)
    expect(strictlyEncoded(le(P), signature)).toBe(false)
    expect(strictlyEncoded(publicKey, cat(signature.subarray(0, 32), le(L)))).toBe(false)
    expect(strictlyEncoded(publicKey, cat(signature.subarray(0, 32), le(L - 1n)))).toBe(true)
  })

  it('run on WebCrypto in Node (as in Chromium)', async () => {
    resetEd25519Backend()
    expect(await ed25519Backend()).toBe('webcrypto')
  })

  it('agree with noble\'s strict mode on random and tampered signatures', async () => {
    for (let i = 0; i < 20; i++) {
      const k = crypto.getRandomValues(new Uint8Array(32))
      const m = crypto.getRandomValues(new Uint8Array(i * 7))
      const sig = ed25519.sign(m, k)
      if (i % 2 === 1) sig[i % 64] ^= 1 << (i % 8)
      const expected = ed25519.verify(sig, m, ed25519.getPublicKey(k), { zip215: false })
      resetEd25519Backend(true)
      expect(await verifyEd25519(ed25519.getPublicKey(k), m, sig)).toBe(expected)
      resetEd25519Backend(false)
      expect(await verifyEd25519(ed25519.getPublicKey(k), m, sig)).toBe(expected)
    }
  })
})
