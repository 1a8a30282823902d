import { ed25519 } from '@noble/curves/ed25519.js'
import { hmac } from '@noble/hashes/hmac.js'
import { sha512 } from '@noble/hashes/sha2.js'
import { generateMnemonic, mnemonicToSeedSync, validateMnemonic } from '@scure/bip39'
import { wordlist } from '@scure/bip39/wordlists/english.js'
import { base58btc } from 'multiformats/bases/base58'
import { InvalidInputError } from '../shared/errors.ts'
import { verifyEd25519, verifyEd25519Sync } from './ed25519.ts'
import { ed25519PublicKey } from './ed25519-keys.ts'
import { concat, utf8 } from '../shared/bytes.ts'

/** Textile's wallet path: m/44'/406'/0'/0' (SLIP-0010, Ed25519 allows hardened steps only). */
const ACCOUNT_PATH = [44, 406, 0, 0].map(i => (i | 0x80000000) >>> 0)
/** did:key multicodec prefix for an Ed25519 public key (0xed, varint-encoded). */
const ED25519_PREFIX = Uint8Array.of(0xed, 0x01)
/** Length of a base58btc-encoded did:key Ed25519 body: "z" + 48 chars. Bounds input before decoding. */
const MAX_ADDRESS_LENGTH = 64

export interface Account {
  /** did:key-style multibase of the account public key: "z6Mk…". Public. */
  readonly address: string
  readonly publicKey: Uint8Array
  /** BIP39 words; the only secret a user must keep. */
  readonly mnemonic: string
  /** 32-byte Ed25519 seed: the account key. Snapshot and message keys derive from it. Never leaves the device. */
  readonly secretKey: Uint8Array
  sign (message: Uint8Array): Uint8Array
}

/** SLIP-0010 Ed25519 private key for a path of hardened indexes (Ed25519 allows no other). Exported for its test vectors. */
export function slip10Ed25519 (seed: Uint8Array, path: number[]): Uint8Array {
  let I = hmac(sha512, utf8.encode('ed25519 seed'), seed)
  for (const index of path) {
    I = hmac(sha512, I.subarray(32), slip10ChildData(I, index))
  }
  return I.slice(0, 32)
}

/** One HMAC-SHA512 by WebCrypto (native: noble's JavaScript one cost 12–30 ms of each page start, mostly its first run). */
async function hmacSha512 (key: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey('raw', new Uint8Array(key), { name: 'HMAC', hash: 'SHA-512' }, false, ['sign'])
  return new Uint8Array(await crypto.subtle.sign('HMAC', k, new Uint8Array(data)))
}

/** `slip10Ed25519` by WebCrypto's HMAC: the same bytes (tested on the same vectors), what the app uses at start. */
export async function slip10Ed25519Native (seed: Uint8Array, path: number[]): Promise<Uint8Array> {
  let I = await hmacSha512(utf8.encode('ed25519 seed'), seed)
  for (const index of path) {
    I = await hmacSha512(I.subarray(32), slip10ChildData(I, index))
  }
  return I.slice(0, 32)
}

/** A hardened child's HMAC input: 0x00 ‖ parent key ‖ index (big-endian). */
function slip10ChildData (I: Uint8Array, index: number): Uint8Array {
  const data = new Uint8Array(37)
  data.set(I.subarray(0, 32), 1)
  new DataView(data.buffer).setUint32(33, index)
  return data
}

export function newMnemonic (): string {
  return generateMnemonic(wordlist, 128)
}

export function normaliseMnemonic (mnemonic: unknown): string {
  if (typeof mnemonic !== 'string' || mnemonic.length > 512) throw new InvalidInputError('INVALID_MNEMONIC', 'mnemonic must be a string of BIP39 words')
  const words = mnemonic.trim().toLowerCase().split(/\s+/).join(' ')
  if (!validateMnemonic(words, wordlist)) throw new InvalidInputError('INVALID_MNEMONIC', 'mnemonic is not a valid BIP39 English phrase (check the words and their order)')
  return words
}

/**
 * The BIP39 seed of normalised words (PBKDF2-HMAC-SHA512, 2,048 rounds, salt "mnemonic" +
 * passphrase, both NFKD) by WebCrypto's native PBKDF2: the JavaScript one took ~100 ms of
 * every page start on this machine. Same bytes as `mnemonicToSeedSync` (tested on BIP39's vectors).
 */
export async function bip39Seed (words: string, passphrase = ''): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey('raw', new Uint8Array(utf8.encode(words.normalize('NFKD'))), 'PBKDF2', false, ['deriveBits'])
  const salt = new Uint8Array(utf8.encode(`mnemonic${passphrase}`.normalize('NFKD')))
  return new Uint8Array(await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-512', salt, iterations: 2048 }, key, 512))
}

/** The account a mnemonic stands for: the same words give the same key and address on every device. */
export function accountFromMnemonic (mnemonic: string): Account {
  const words = normaliseMnemonic(mnemonic)
  const secretKey = slip10Ed25519(mnemonicToSeedSync(words), ACCOUNT_PATH)
  return accountOf(words, secretKey, ed25519.getPublicKey(secretKey))
}

/**
 * `accountFromMnemonic` with native PBKDF2 and HMAC, and the public key from WebCrypto where it can
 * (ed25519-keys.ts: noble's first multiplication cost every page start ~80 ms): what the app
 * uses at start and on restore.
 */
export async function loadAccount (mnemonic: string): Promise<Account> {
  const words = normaliseMnemonic(mnemonic)
  const secretKey = await slip10Ed25519Native(await bip39Seed(words), ACCOUNT_PATH)
  return accountOf(words, secretKey, await ed25519PublicKey(secretKey))
}

function accountOf (words: string, secretKey: Uint8Array, publicKey: Uint8Array): Account {
  return {
    address: addressFromPublicKey(publicKey),
    publicKey,
    mnemonic: words,
    secretKey,
    sign: (message) => ed25519.sign(message, secretKey)
  }
}

export function addressFromPublicKey (publicKey: Uint8Array): string {
  return base58btc.encode(concat([ED25519_PREFIX, publicKey]))
}

/** The public key inside an address; throws InvalidInputError(INVALID_ADDRESS) for anything else. */
export function publicKeyFromAddress (address: unknown): Uint8Array {
  if (typeof address !== 'string' || address.length > MAX_ADDRESS_LENGTH || !address.startsWith('z')) {
    throw new InvalidInputError('INVALID_ADDRESS', 'address must be an account address (z6Mk…)')
  }
  let bytes: Uint8Array
  try { bytes = base58btc.decode(address) } catch { throw new InvalidInputError('INVALID_ADDRESS', 'address is not base58btc') }
  if (bytes.length !== 34 || bytes[0] !== ED25519_PREFIX[0] || bytes[1] !== ED25519_PREFIX[1]) {
    throw new InvalidInputError('INVALID_ADDRESS', 'address is not an Ed25519 account address')
  }
  return bytes.slice(2)
}

export function isAddress (address: unknown): address is string {
  try { publicKeyFromAddress(address); return true } catch { return false }
}

/**
 * True only for a valid, strictly encoded Ed25519 signature by the address's key (the rule in
 * ed25519.ts), checked by the platform's WebCrypto where it can. Never throws on bad input.
 */
export async function verifyAccountSignature (address: string, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
  let publicKey: Uint8Array
  try { publicKey = publicKeyFromAddress(address) } catch { return false }
  return verifyEd25519(publicKey, message, signature)
}

/** The same check in JavaScript, for callers that cannot wait: a contact's signature, checked where it is parsed. */
export function verifyAccountSignatureSync (address: string, message: Uint8Array, signature: Uint8Array): boolean {
  let publicKey: Uint8Array
  try { publicKey = publicKeyFromAddress(address) } catch { return false }
  return verifyEd25519Sync(publicKey, message, signature)
}
