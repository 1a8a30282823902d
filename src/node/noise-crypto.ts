import { pureJsCrypto } from '@libp2p/noise'
import { x25519 } from '@noble/curves/ed25519.js'
import { base64url } from 'multiformats/bases/base64'
import type { ICryptoInterface } from '@libp2p/noise'

/**
 * Noise's X25519 key pairs made by WebCrypto ahead of use. @noble/curves makes a public key
 * through Ed25519's base-point table, whose first use built it on the main thread at every
 * page load (33–44 ms here). Noise asks for key pairs synchronously, so the pairs are made
 * before it asks: the static one before libp2p starts, the ephemeral ones (one per handshake)
 * in a pool refilled after each use. An empty pool falls back to noble; the shared secret
 * (a ladder, no table) and everything else stay noble's.
 */

type KeyPair = ReturnType<ICryptoInterface['generateX25519KeyPair']>

export interface NoiseKeys {
  /** The static key's private half: Noise's `staticNoiseKey`. */
  staticNoiseKey: Uint8Array
  /** Noise's `crypto`. */
  crypto: ICryptoInterface
}

/** Ephemeral pairs kept ready: a cold search dials 6 cafes and the relay at once. */
export const POOL_SIZE = 8

/** One X25519 pair from WebCrypto, in noble's form (the 32-byte private scalar and the u-coordinate). */
export async function nativeX25519Pair (subtle: SubtleCrypto = globalThis.crypto.subtle): Promise<KeyPair> {
  const pair = await subtle.generateKey({ name: 'X25519' }, true, ['deriveBits']) as CryptoKeyPair
  const [jwk, raw] = await Promise.all([subtle.exportKey('jwk', pair.privateKey), subtle.exportKey('raw', pair.publicKey)])
  if (jwk.d == null) throw new TypeError('WebCrypto exported an X25519 private key without d')
  return { privateKey: base64url.baseDecode(jwk.d), publicKey: new Uint8Array(raw) }
}

/**
 * Whether two WebCrypto pairs are what noble would make of their private keys: noble's DH
 * (a ladder, no base table) of each private key with the other's public key must agree.
 */
export function pairsAgree (a: KeyPair, b: KeyPair): boolean {
  const ab = x25519.getSharedSecret(a.privateKey, b.publicKey)
  const ba = x25519.getSharedSecret(b.privateKey, a.publicKey)
  return ab.length === 32 && sameBytes(ab, ba)
}

/**
 * Noise's static key and a crypto whose key pairs come from WebCrypto, or undefined where
 * WebCrypto has no X25519 (Noise then makes its own keys with noble, as before).
 */
export async function nativeNoiseKeys (subtle: SubtleCrypto | undefined = globalThis.crypto?.subtle, poolSize = POOL_SIZE): Promise<NoiseKeys | undefined> {
  if (subtle == null) return undefined
  let stat: KeyPair
  let first: KeyPair
  try {
    [stat, first] = await Promise.all([nativeX25519Pair(subtle), nativeX25519Pair(subtle)])
  } catch {
    return undefined
  }
  if (!pairsAgree(stat, first)) return undefined
  const pool: KeyPair[] = [first]
  let filling = false
  const refill = (): void => {
    if (filling) return
    filling = true
    void (async () => {
      try {
        while (pool.length < poolSize) pool.push(await nativeX25519Pair(subtle))
      } catch {
        // WebCrypto failed after working: the pool stays short and noble makes the rest.
      } finally {
        filling = false
      }
    })()
  }
  refill()
  const crypto: ICryptoInterface = {
    ...pureJsCrypto,
    // Noise calls these unbound: closures, no `this`.
    generateX25519KeyPair: () => {
      const pair = pool.shift()
      refill()
      return pair ?? pureJsCrypto.generateX25519KeyPair()
    },
    generateX25519KeyPairFromSeed: (seed) => sameBytes(seed, stat.privateKey)
      ? { privateKey: stat.privateKey, publicKey: stat.publicKey }
      : pureJsCrypto.generateX25519KeyPairFromSeed(seed)
  }
  return { staticNoiseKey: stat.privateKey, crypto }
}

function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}
