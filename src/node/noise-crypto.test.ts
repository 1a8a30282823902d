import { x25519 } from '@noble/curves/ed25519.js'
import { describe, expect, it, vi } from 'vitest'
import { stub } from '../../test/fixtures/stub.ts'
import { nativeNoiseKeys, nativeX25519Pair, pairsAgree, POOL_SIZE } from './noise-crypto.ts'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

describe('Noise X25519 keys from WebCrypto', () => {
  it('makes pairs whose public key is noble’s for their private key', async () => {
    const pair = await nativeX25519Pair()
    expect(pair.privateKey).toHaveLength(32)
    expect(hex(pair.publicKey)).toBe(hex(x25519.getPublicKey(pair.privateKey)))
  })

  it('tells pairs that agree from a pair whose halves do not belong together', async () => {
    const a = await nativeX25519Pair()
    const b = await nativeX25519Pair()
    expect(pairsAgree(a, b)).toBe(true)
    const wrong = { privateKey: a.privateKey, publicKey: b.publicKey }
    expect(pairsAgree(wrong, b)).toBe(false)
  })

  it('gives Noise its static pair for the static seed, and fresh ephemeral pairs past the pool', async () => {
    const keys = await nativeNoiseKeys()
    if (keys == null) throw new Error('this Node has WebCrypto X25519; nativeNoiseKeys gave none')
    const stat = keys.crypto.generateX25519KeyPairFromSeed(keys.staticNoiseKey)
    expect(hex(stat.publicKey)).toBe(hex(x25519.getPublicKey(keys.staticNoiseKey)))
    const seen = new Set<string>([hex(stat.privateKey)])
    // Unbound, as Noise calls it; more than the pool holds, so the fallback is used too.
    const generate = keys.crypto.generateX25519KeyPair
    for (let i = 0; i < POOL_SIZE * 2; i++) {
      const pair = generate()
      expect(hex(pair.publicKey)).toBe(hex(x25519.getPublicKey(pair.privateKey)))
      expect(seen.has(hex(pair.privateKey))).toBe(false)
      seen.add(hex(pair.privateKey))
    }
    // Another seed is noble's to derive, not the static pair.
    const other = new Uint8Array(32).fill(7)
    expect(hex(keys.crypto.generateX25519KeyPairFromSeed(other).publicKey)).toBe(hex(x25519.getPublicKey(other)))
  })

  it('refills its pool from WebCrypto after use', async () => {
    let made = 0
    const subtle = globalThis.crypto.subtle
    const counting = new Proxy(subtle, {
      get (target, prop) {
        const v = Reflect.get(target, prop) as unknown
        if (prop === 'generateKey') return async (...args: Parameters<SubtleCrypto['generateKey']>) => { made++; return subtle.generateKey(...args) }
        return typeof v === 'function' ? v.bind(target) : v
      }
    })
    // Waits for the count, however long WebCrypto takes (bounded well below the test's timeout).
    const until = async (n: number): Promise<void> => { await vi.waitFor(() => { expect(made).toBeGreaterThanOrEqual(n) }, { timeout: 10_000, interval: 5 }) }
    const keys = await nativeNoiseKeys(counting, 2)
    // The static pair, the first pool pair, then one more to fill a pool of 2.
    await until(3)
    keys!.crypto.generateX25519KeyPair()
    await until(4)
    expect(made).toBe(4)
  })

  it('is none where WebCrypto has no X25519 (Noise then makes its own keys)', async () => {
    const subtle = stub<SubtleCrypto>({ generateKey: async () => { throw new DOMException('Unrecognized name', 'NotSupportedError') } })
    expect(await nativeNoiseKeys(subtle)).toBeUndefined()
  })
})
