import { x25519 } from '@noble/curves/ed25519.js'
import { InvalidInputError } from '../shared/errors.ts'

/**
 * X25519 for sealed boxes, by the platform's WebCrypto where it has X25519 (Chromium, Node,
 * Firefox) and by @noble/curves elsewhere. Either way an all-zero shared secret (a low-order
 * public key, which would seal to everyone) is refused, as noble does.
 */

type Buf = Uint8Array<ArrayBuffer>
const buf = (b: Uint8Array): Buf => (b.buffer instanceof ArrayBuffer ? b : new Uint8Array(b)) as Buf

/** A low-order or otherwise unusable public key (INVALID_BOX_KEY, 400). */
export class BadX25519KeyError extends InvalidInputError {
  static override name = 'BadX25519KeyError'
  override name = 'BadX25519KeyError'
  constructor (details: string) { super('INVALID_BOX_KEY', details) }
}

/** PKCS #8 wrapping of a raw X25519 private key (RFC 8410): WebCrypto imports private keys only this way. */
const PKCS8_PREFIX = Uint8Array.of(0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20)

const subtle: SubtleCrypto | undefined = globalThis.crypto?.subtle

async function importSecret (secret: Uint8Array): Promise<CryptoKey> {
  const pkcs8 = new Uint8Array(PKCS8_PREFIX.length + 32)
  pkcs8.set(PKCS8_PREFIX)
  pkcs8.set(secret, PKCS8_PREFIX.length)
  return subtle!.importKey('pkcs8', pkcs8, { name: 'X25519' }, false, ['deriveBits'])
}

async function nativeShared (secret: CryptoKey, publicKey: Uint8Array): Promise<Uint8Array> {
  const pub = await subtle!.importKey('raw', buf(publicKey), { name: 'X25519' }, false, [])
  return new Uint8Array(await subtle!.deriveBits({ name: 'X25519', public: pub }, secret, 256))
}

let native: Promise<boolean> | undefined
/** Whether WebCrypto's X25519 gives noble's answer here (tried once). */
async function hasNativeX25519 (): Promise<boolean> {
  native ??= (async () => {
    if (subtle == null) return false
    try {
      const a = new Uint8Array(32).fill(3)
      const b = x25519.getPublicKey(new Uint8Array(32).fill(5))
      const got = await nativeShared(await importSecret(a), b)
      const want = x25519.getSharedSecret(a, b)
      return got.length === 32 && got.every((x, i) => x === want[i])
    } catch {
      return false
    }
  })()
  return native
}

/** Imported secrets by the array holding them: a recipient opening many boxes imports its key once. */
const imported = new WeakMap<Uint8Array, Promise<CryptoKey | undefined>>()

/**
 * The secret as a WebCrypto key, or undefined where there is no native X25519 or the engine
 * refuses this secret: WebKitGTK refuses every PKCS #8 key whose first byte is 0 (1 in 256;
 * measured on 2.50.6). Any 32 bytes are an X25519 secret, so noble takes over then.
 */
async function nativeSecret (secret: Uint8Array): Promise<CryptoKey | undefined> {
  if (!await hasNativeX25519()) return undefined
  let key = imported.get(secret)
  if (key == null) { key = importSecret(secret).catch(() => undefined); imported.set(secret, key) }
  return key
}

/** X25519(secret, publicKey); throws BadX25519KeyError for a key that gives no usable secret. */
export async function sharedSecret (secret: Uint8Array, publicKey: Uint8Array): Promise<Uint8Array> {
  let shared: Uint8Array
  const key = await nativeSecret(secret)
  if (key != null) {
    try { shared = await nativeShared(key, publicKey) } catch (err) { throw new BadX25519KeyError(`not a usable X25519 public key: ${(err as Error).message}`) }
  } else {
    try { shared = x25519.getSharedSecret(secret, publicKey) } catch (err) { throw new BadX25519KeyError(`not a usable X25519 public key: ${(err as Error).message}`) }
  }
  // All zero: the public key was of low order (WebCrypto may hand it back rather than refuse).
  if (shared.every(b => b === 0)) throw new BadX25519KeyError('not a usable X25519 public key: low order')
  return shared
}

/** A fresh ephemeral key pair and its shared secret with `publicKey` (the sealing side). */
export async function ephemeralShared (publicKey: Uint8Array): Promise<{ publicKey: Uint8Array, shared: Uint8Array }> {
  // WebKitGTK's generateKey fails now and then (OperationError, ~1 in 250: the same leading zero
  // byte as above); a pair from noble serves for that box.
  const pair = await hasNativeX25519() ? await subtle!.generateKey({ name: 'X25519' }, false, ['deriveBits']).catch(() => undefined) as CryptoKeyPair | undefined : undefined
  if (pair != null) {
    let shared: Uint8Array
    try { shared = await nativeShared(pair.privateKey, publicKey) } catch (err) { throw new BadX25519KeyError(`not a usable X25519 public key: ${(err as Error).message}`) }
    if (shared.every(b => b === 0)) throw new BadX25519KeyError('not a usable X25519 public key: low order')
    return { publicKey: new Uint8Array(await subtle!.exportKey('raw', pair.publicKey)), shared }
  }
  const own = x25519.keygen()
  return { publicKey: own.publicKey, shared: await sharedSecret(own.secretKey, publicKey) }
}

const publicKeys = new WeakMap<Uint8Array, Uint8Array>()
/** The public key of a secret, computed once per array. */
export function publicKeyOf (secret: Uint8Array): Uint8Array {
  let pub = publicKeys.get(secret)
  if (pub == null) { pub = x25519.getPublicKey(secret); publicKeys.set(secret, pub) }
  return pub
}

/** Which path sharedSecret takes here: for the tests. */
export async function x25519Backend (): Promise<'webcrypto' | 'noble'> { return (await hasNativeX25519()) ? 'webcrypto' : 'noble' }

/** For tests: forget the probe (or, with `force`, take that path). */
export function resetX25519Backend (force?: boolean): void { native = force == null ? undefined : Promise.resolve(force) }
