import { ed25519 } from '@noble/curves/ed25519.js'

/**
 * Ed25519 key generation and seed → public key by the platform's WebCrypto where it has
 * Ed25519, @noble/curves otherwise. Why: noble's first base-point multiplication builds a
 * lookup table (~80–170 ms here), and a page start paid it for the peer key (fresh profile)
 * and the account's public key (every start). The bytes are the same either way: a 32-byte
 * seed (RFC 8032's private key) and its 32-byte public key (tested against noble and RFC 8032).
 */

/** PKCS#8 wrapping of a 32-byte Ed25519 seed (RFC 8410): this prefix, then the seed. */
const PKCS8_PREFIX = Uint8Array.of(0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20)

export interface Ed25519KeyPair { seed: Uint8Array, publicKey: Uint8Array }

function fromBase64url (s: string): Uint8Array {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/')
  const bin = atob(b64 + '='.repeat((4 - b64.length % 4) % 4))
  return Uint8Array.from(bin, c => c.charCodeAt(0))
}

/** The public key of a seed through WebCrypto (import PKCS#8, read the JWK's `x`); undefined where it has no Ed25519. */
async function nativePublicKey (seed: Uint8Array): Promise<Uint8Array | undefined> {
  const subtle: SubtleCrypto | undefined = globalThis.crypto?.subtle
  if (subtle == null) return undefined
  try {
    const pkcs8 = new Uint8Array(PKCS8_PREFIX.length + 32)
    pkcs8.set(PKCS8_PREFIX)
    pkcs8.set(seed, PKCS8_PREFIX.length)
    const key = await subtle.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, true, ['sign'])
    pkcs8.fill(0)
    const jwk = await subtle.exportKey('jwk', key)
    if (typeof jwk.x !== 'string') return undefined
    const publicKey = fromBase64url(jwk.x)
    return publicKey.length === 32 ? publicKey : undefined
  } catch {
    return undefined
  }
}

/** The Ed25519 public key of a 32-byte seed. */
export async function ed25519PublicKey (seed: Uint8Array): Promise<Uint8Array> {
  if (seed.length !== 32) throw new RangeError('an Ed25519 seed is 32 bytes')
  return (await nativePublicKey(seed)) ?? ed25519.getPublicKey(seed)
}

/** A new key pair from the platform's randomness (the seed is 32 random bytes, as in RFC 8032). */
export async function generateEd25519 (): Promise<Ed25519KeyPair> {
  const seed = crypto.getRandomValues(new Uint8Array(32))
  return { seed, publicKey: await ed25519PublicKey(seed) }
}

/** Which path this platform takes: for the tests and the bench. */
export async function ed25519KeysBackend (): Promise<'webcrypto' | 'noble'> {
  return (await nativePublicKey(new Uint8Array(32))) != null ? 'webcrypto' : 'noble'
}
