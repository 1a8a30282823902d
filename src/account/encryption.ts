import { concat, utf8 } from '../shared/bytes.ts'
import { LightcafeError } from '../shared/errors.ts'
import { iterateStream, streamFromIterator } from '../shared/streams.ts'

/**
 * Encryption with keys derived from the account key, so a new device holding only the
 * mnemonic can read what it stored. Format (a streaming AEAD in the STREAM style):
 *
 *   header  = "LCE1" | chunkSize (u32 BE) | salt (16 bytes)
 *   chunk i = AES-256-GCM(fileKey, iv = 0^4 | i (u64 BE), aad = header | i | last?) of ≤ chunkSize bytes
 *
 * fileKey = HKDF-SHA256(accountKey, salt, "lightcafe/<purpose>/v1"): a fresh key per file, so
 * counter IVs never repeat under one key. The AAD binds each chunk to its file, position and
 * whether it is the last, so reordering, splicing and truncation all fail authentication.
 */
export const ENCRYPTION = {
  magic: utf8.encode('LCE1'),
  headerBytes: 4 + 4 + 16,
  /** 256 KiB plaintext chunks: one IPFS block-sized unit, bounded memory while streaming. */
  chunkBytes: 256 * 1024,
  tagBytes: 16,
  /** Refuse headers claiming absurd chunk sizes before allocating anything. */
  maxChunkBytes: 4 * 1024 * 1024
} as const

export type Purpose = 'files' | 'snapshots' | 'records'

/** Sealed data that does not open with this account's key (altered, cut short, another key). */
export class DecryptionError extends LightcafeError {
  static override name = 'DecryptionError'
  override name = 'DecryptionError'
  constructor (details: string) { super('DECRYPTION_FAILED', details) }
}

const buf = (b: Uint8Array): Uint8Array<ArrayBuffer> => b as Uint8Array<ArrayBuffer>

/** The HKDF input key for an account: import once, derive per file. */
export async function accountKeyMaterial (secretKey: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', buf(secretKey), 'HKDF', false, ['deriveKey', 'deriveBits'])
}

async function fileKey (material: CryptoKey, salt: Uint8Array, purpose: Purpose): Promise<CryptoKey> {
  return crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: buf(salt), info: buf(utf8.encode(`lightcafe/${purpose}/v1`)) },
    material, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt'])
}

function chunkParams (header: Uint8Array, index: number, last: boolean): { iv: Uint8Array, aad: Uint8Array } {
  const iv = new Uint8Array(12)
  new DataView(iv.buffer).setBigUint64(4, BigInt(index))
  const aad = new Uint8Array(header.length + 9)
  aad.set(header)
  new DataView(aad.buffer).setBigUint64(header.length, BigInt(index))
  aad[header.length + 8] = last ? 1 : 0
  return { iv, aad }
}

/** Re-cuts a byte stream into pieces of exactly `size` (the last may be shorter), one piece of lookahead. */
async function * pieces (source: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<{ piece: Uint8Array, last: boolean }> {
  let held: Uint8Array | null = null
  let acc = new Uint8Array(size)
  let n = 0
  for await (const chunk of source) {
    for (let off = 0; off < chunk.length;) {
      const take = Math.min(size - n, chunk.length - off)
      acc.set(chunk.subarray(off, off + take), n)
      n += take
      off += take
      if (n === size) {
        if (held != null) yield { piece: held, last: false }
        held = acc
        acc = new Uint8Array(size)
        n = 0
      }
    }
  }
  if (n > 0) {
    if (held != null) yield { piece: held, last: false }
    yield { piece: acc.slice(0, n), last: true }
  } else {
    yield { piece: held ?? new Uint8Array(0), last: true }
  }
}

/** Encrypts a stream for this account; memory stays at about two chunks whatever the size. */
export function encryptStream (material: CryptoKey, purpose: Purpose, plaintext: ReadableStream<Uint8Array>, chunkBytes: number = ENCRYPTION.chunkBytes): ReadableStream<Uint8Array> {
  return streamFromIterator((async function * () {
    const header = new Uint8Array(ENCRYPTION.headerBytes)
    header.set(ENCRYPTION.magic)
    new DataView(header.buffer).setUint32(4, chunkBytes)
    const salt = crypto.getRandomValues(new Uint8Array(16))
    header.set(salt, 8)
    const key = await fileKey(material, salt, purpose)
    yield header
    let index = 0
    for await (const { piece, last } of pieces(iterateStream(plaintext), chunkBytes)) {
      const { iv, aad } = chunkParams(header, index++, last)
      yield new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: buf(iv), additionalData: buf(aad) }, key, buf(piece)))
    }
  })())
}

/** Decrypts what encryptStream made; any tampering, reordering or truncation throws DecryptionError. */
export function decryptStream (material: CryptoKey, purpose: Purpose, ciphertext: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  return streamFromIterator((async function * () {
    const source = iterateStream(ciphertext)
    // The header first, then sealed chunks of chunkSize + tag bytes.
    let rest = new Uint8Array(0)
    const need = async (n: number): Promise<boolean> => {
      while (rest.length < n) {
        const { done, value } = await source.next()
        if (done === true) return false
        rest = concat([rest, value])
      }
      return true
    }
    if (!(await need(ENCRYPTION.headerBytes))) throw new DecryptionError('not Lightcafe ciphertext: too short')
    const header = rest.slice(0, ENCRYPTION.headerBytes)
    rest = rest.subarray(ENCRYPTION.headerBytes)
    if (!ENCRYPTION.magic.every((b, i) => header[i] === b)) throw new DecryptionError('not Lightcafe ciphertext: bad magic')
    const chunkBytes = new DataView(header.buffer).getUint32(4)
    if (chunkBytes === 0 || chunkBytes > ENCRYPTION.maxChunkBytes) throw new DecryptionError('bad chunk size in header')
    const key = await fileKey(material, header.subarray(8, 24), purpose)
    const sealed = chunkBytes + ENCRYPTION.tagBytes
    for (let index = 0; ; index++) {
      const full = await need(sealed + 1) // one byte of lookahead tells whether this chunk is the last
      const last = !full
      const take = last ? rest.length : sealed
      const piece = rest.slice(0, take)
      rest = rest.subarray(take)
      const { iv, aad } = chunkParams(header, index, last)
      let plain: ArrayBuffer
      try {
        plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: buf(iv), additionalData: buf(aad) }, key, buf(piece))
      } catch {
        throw new DecryptionError(`chunk ${index} does not authenticate: wrong account key, or the data was altered or cut short`)
      }
      yield new Uint8Array(plain)
      if (last) return
    }
  })())
}

/** Whole-buffer helpers, for small records such as thread snapshots. */
export async function encryptBytes (material: CryptoKey, purpose: Purpose, plaintext: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await new Response(encryptStream(material, purpose, new Blob([buf(plaintext)]).stream())).arrayBuffer())
}

export async function decryptBytes (material: CryptoKey, purpose: Purpose, ciphertext: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await new Response(decryptStream(material, purpose, new Blob([buf(ciphertext)]).stream())).arrayBuffer())
}
