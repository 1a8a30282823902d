import { ed25519 } from '@noble/curves/ed25519.js'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ed25519KeysBackend, ed25519PublicKey, generateEd25519 } from './ed25519-keys.ts'

const hex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g)!, b => parseInt(b, 16))

/** RFC 8032 §7.1, tests 1–3: secret key → public key. */
const RFC8032 = [
  ['9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a'],
  ['4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb', '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c'],
  ['c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7', 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025']
]

afterEach(() => { vi.restoreAllMocks() })

describe.each([['webcrypto', false], ['noble (no native Ed25519)', true]] as const)('Ed25519 keys through %s', (_name, withoutNative) => {
  const setUp = (): void => {
    if (withoutNative) vi.spyOn(crypto.subtle, 'importKey').mockRejectedValue(new DOMException('Unrecognized name.', 'NotSupportedError'))
  }

  it('derives RFC 8032 public keys', async () => {
    setUp()
    expect(await ed25519KeysBackend()).toBe(withoutNative ? 'noble' : 'webcrypto')
    for (const [secret, pub] of RFC8032) expect(await ed25519PublicKey(hex(secret))).toEqual(hex(pub))
  })

  it('gives the same bytes as noble for random seeds, and generates keys noble signs with', async () => {
    setUp()
    for (let i = 0; i < 20; i++) {
      const seed = crypto.getRandomValues(new Uint8Array(32))
      expect(await ed25519PublicKey(seed)).toEqual(ed25519.getPublicKey(seed))
    }
    const a = await generateEd25519()
    const b = await generateEd25519()
    expect(a.seed).toHaveLength(32)
    expect(a.seed).not.toEqual(b.seed)
    expect(a.publicKey).toEqual(ed25519.getPublicKey(a.seed))
    const message = Uint8Array.of(1, 2, 3)
    expect(ed25519.verify(ed25519.sign(message, a.seed), message, a.publicKey)).toBe(true)
  })
})

it('refuses a seed that is not 32 bytes', async () => {
  await expect(ed25519PublicKey(new Uint8Array(31))).rejects.toThrow(RangeError)
})
