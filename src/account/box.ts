import { x25519 } from '@noble/curves/ed25519.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { concat, randomBytes, utf8 } from '../shared/bytes.ts'
import { InvalidInputError } from '../shared/errors.ts'
import { DecryptionError } from './encryption.ts'
import { ephemeralShared, publicKeyOf, sharedSecret } from './x25519.ts'

/**
 * Sealed boxes for the offline inbox: anyone holding a contact's X25519 public key can seal
 * a message that only that account can open. Format:
 *
 *   sealed = version (1) | ephemeral X25519 public key (32) | iv (12) | AES-256-GCM ciphertext + tag (16)
 *
 * key = HKDF-SHA256(X25519(ephemeral, recipient), salt = ephemeral pub | recipient pub, "lightcafe/box/v1").
 * A fresh ephemeral key per message means a fresh AES key, so the random IV never meets the
 * same key twice. The GCM associated data is the header (version | ephemeral | iv) followed by
 * the caller's optional `aad`, so a box can be bound to its context (the envelope binds it to
 * sender and recipient, so nobody can re-sign someone else's box as their own).
 *
 * A box is anonymous: it proves nothing about who sealed it. Authorship comes from a signature
 * around it (see src/inbox/envelope.ts).
 */
export const BOX = {
  version: 1,
  keyBytes: 32,
  ivBytes: 12,
  tagBytes: 16,
  headerBytes: 1 + 32 + 12,
  /** 32 KiB: inbox messages are small, and a full box still fits a default 64 KiB envelope after base64url. */
  maxPlaintextBytes: 32 * 1024
} as const

/** Bytes a box adds to its plaintext. */
export const BOX_OVERHEAD = BOX.headerBytes + BOX.tagBytes

const KEY_INFO = utf8.encode('lightcafe/x25519/v1')
const BOX_INFO = utf8.encode('lightcafe/box/v1')

export interface BoxKeyPair {
  readonly publicKey: Uint8Array
  readonly secretKey: Uint8Array
}

/**
 * A box that does not open: wrong key, altered or cut short. One reason for all, so failures
 * reveal nothing; a DecryptionError (DECRYPTION_FAILED), as any sealed data that does not open.
 */
export class BoxOpenError extends DecryptionError {
  static override name = 'BoxOpenError'
  override name = 'BoxOpenError'
}

const buf = (b: Uint8Array): Uint8Array<ArrayBuffer> => b as Uint8Array<ArrayBuffer>

/**
 * The account's X25519 key pair, derived from its Ed25519 seed: a restored mnemonic gets the same
 * inbox key. HKDF with its own info string keeps it independent of the signing key and of the
 * other keys derived from the same seed.
 */
export function boxKeyPair (accountSecretKey: Uint8Array): BoxKeyPair {
  if (!(accountSecretKey instanceof Uint8Array) || accountSecretKey.length !== 32) {
    throw new InvalidInputError('INVALID_SECRET_KEY', 'the account secret key must be 32 bytes')
  }
  const secretKey = hkdf(sha256, accountSecretKey, undefined, KEY_INFO, 32)
  return { publicKey: x25519.getPublicKey(secretKey), secretKey }
}

async function boxKey (shared: Uint8Array, ephemeralPublic: Uint8Array, recipientPublic: Uint8Array): Promise<CryptoKey> {
  const salt = new Uint8Array(64)
  salt.set(ephemeralPublic)
  salt.set(recipientPublic, 32)
  const raw = hkdf(sha256, shared, salt, BOX_INFO, 32)
  return crypto.subtle.importKey('raw', buf(raw), 'AES-GCM', false, ['encrypt', 'decrypt'])
}

function associatedData (header: Uint8Array, aad: Uint8Array): Uint8Array {
  return concat([header, aad])
}

/** Seals `plaintext` (≤ BOX.maxPlaintextBytes) so only the holder of the matching X25519 secret can open it. */
export async function seal (recipientPublic: Uint8Array, plaintext: Uint8Array, aad: Uint8Array = new Uint8Array(0)): Promise<Uint8Array> {
  if (!(recipientPublic instanceof Uint8Array) || recipientPublic.length !== BOX.keyBytes) {
    throw new InvalidInputError('INVALID_BOX_KEY', 'the recipient box key must be 32 bytes')
  }
  if (plaintext.length > BOX.maxPlaintextBytes) {
    throw new InvalidInputError('BOX_TOO_LARGE', `sealed messages are limited to ${BOX.maxPlaintextBytes} bytes`)
  }
  let ephemeral: { publicKey: Uint8Array, shared: Uint8Array }
  // A low-order point (an all-zero shared secret) is refused: such a "key" would seal to everyone.
  try { ephemeral = await ephemeralShared(recipientPublic) } catch {
    throw new InvalidInputError('INVALID_BOX_KEY', 'the recipient box key is not a usable X25519 public key')
  }
  const shared = ephemeral.shared
  const header = new Uint8Array(BOX.headerBytes)
  header[0] = BOX.version
  header.set(ephemeral.publicKey, 1)
  header.set(randomBytes(BOX.ivBytes), 1 + BOX.keyBytes)
  const key = await boxKey(shared, ephemeral.publicKey, recipientPublic)
  const iv = header.subarray(1 + BOX.keyBytes)
  const ciphertext = new Uint8Array(await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv: buf(iv), additionalData: buf(associatedData(header, aad)) }, key, buf(plaintext)))
  return concat([header, ciphertext])
}

/** Opens what seal made for this key pair (with the same `aad`); anything else throws BoxOpenError. */
export async function open (recipientSecret: Uint8Array, sealed: Uint8Array, aad: Uint8Array = new Uint8Array(0)): Promise<Uint8Array> {
  if (!(recipientSecret instanceof Uint8Array) || recipientSecret.length !== BOX.keyBytes) {
    throw new InvalidInputError('INVALID_BOX_KEY', 'the box secret key must be 32 bytes')
  }
  // Length bounds first: nothing is derived or decrypted for input that cannot be a box.
  if (!(sealed instanceof Uint8Array) || sealed.length < BOX_OVERHEAD) throw new BoxOpenError('not a sealed box: too short')
  if (sealed.length > BOX_OVERHEAD + BOX.maxPlaintextBytes) throw new BoxOpenError('not a sealed box: too long')
  if (sealed[0] !== BOX.version) throw new BoxOpenError(`unknown box version ${sealed[0]}`)
  const header = sealed.subarray(0, BOX.headerBytes)
  const ephemeralPublic = header.subarray(1, 1 + BOX.keyBytes)
  const iv = header.subarray(1 + BOX.keyBytes)
  let shared: Uint8Array
  try { shared = await sharedSecret(recipientSecret, ephemeralPublic) } catch {
    throw new BoxOpenError('the box does not open: bad ephemeral key')
  }
  const key = await boxKey(shared, ephemeralPublic, publicKeyOf(recipientSecret))
  try {
    return new Uint8Array(await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: buf(iv), additionalData: buf(associatedData(header, aad)) }, key, buf(sealed.subarray(BOX.headerBytes))))
  } catch {
    throw new BoxOpenError('the box does not open: wrong key, or it was altered or cut short')
  }
}
