import { fromString } from 'uint8arrays/from-string'
import { toString } from 'uint8arrays/to-string'

export { concat } from 'uint8arrays/concat'

/** base64url without padding (JWT, JWK, token secrets). */
export function toBase64url (bytes: Uint8Array): string {
  return toString(bytes, 'base64url')
}

/**
 * The bytes of unpadded base64url, or TypeError. Strict: no padding, and no stray bits after
 * the last byte, so each byte string has exactly one text.
 */
export function fromBase64url (text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new TypeError('not base64url')
  try { return fromString(text, 'base64url') } catch { throw new TypeError('not base64url') }
}

const BASE64URL = /^[A-Za-z0-9_-]*$/
const BASE64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/**
 * How many bytes a text fromBase64url accepts stands for, or undefined for any text it refuses;
 * without decoding it: a check of a large text whose bytes the caller does not need (a cafe
 * checking an envelope's sealed body), at a fraction of a decode's cost.
 */
export function base64urlLength (text: string): number | undefined {
  const rest = text.length % 4
  if (rest === 1 || !BASE64URL.test(text)) return undefined
  // The bits of the last character past the last byte must be zero: one text per byte string.
  if (rest !== 0 && (BASE64URL_ALPHABET.indexOf(text[text.length - 1]) & (rest === 2 ? 0x0f : 0x03)) !== 0) return undefined
  return (text.length * 3) >> 2
}

export function randomBytes (n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n))
}

/** Constant-time comparison, so a timing probe cannot learn a secret byte by byte. */
export function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i]
  return diff === 0
}

export async function sha256 (bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>))
}

export const utf8 = {
  encode: (s: string): Uint8Array => new TextEncoder().encode(s),
  decode: (b: Uint8Array): string => new TextDecoder().decode(b)
}
