import { describe, expect, it } from 'vitest'
import { accountFromMnemonic, newMnemonic } from './account.ts'
import { ENCRYPTION, accountKeyMaterial, decryptBytes, decryptStream, encryptBytes, encryptStream } from './encryption.ts'

const PHRASE = 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about'
const bytes = (n: number): Uint8Array => { const b = new Uint8Array(n); for (let i = 0; i < n; i++) b[i] = (i * 131 + 7) & 0xff; return b }
const read = async (s: ReadableStream<Uint8Array>): Promise<Uint8Array> => new Uint8Array(await new Response(s).arrayBuffer())

describe('account encryption (HKDF → AES-256-GCM, chunked)', () => {
  it('round-trips sizes around chunk boundaries, streaming', async () => {
    const key = await accountKeyMaterial(accountFromMnemonic(PHRASE).secretKey)
    const chunk = 1024
    for (const n of [0, 1, chunk - 1, chunk, chunk + 1, 3 * chunk, 5 * chunk + 17]) {
      const plain = bytes(n)
      // Feed the plaintext in awkward pieces to exercise re-chunking.
      const src = new ReadableStream<Uint8Array>({ start (c) { for (let i = 0; i < n; i += 333) c.enqueue(plain.slice(i, i + 333)); c.close() } })
      const sealed = await read(encryptStream(key, 'files', src, chunk))
      expect(sealed.length).toBe(ENCRYPTION.headerBytes + Math.max(1, Math.ceil(n / chunk)) * ENCRYPTION.tagBytes + n)
      expect(await read(decryptStream(key, 'files', new Blob([sealed as Uint8Array<ArrayBuffer>]).stream()))).toEqual(plain)
    }
  })

  it('hides the plaintext and gives a fresh ciphertext every time', async () => {
    const key = await accountKeyMaterial(accountFromMnemonic(PHRASE).secretKey)
    const marker = new TextEncoder().encode('LIGHTCAFE-PLAINTEXT-MARKER '.repeat(100))
    const a = await encryptBytes(key, 'files', marker)
    const b = await encryptBytes(key, 'files', marker)
    expect(Buffer.from(a).includes(Buffer.from('LIGHTCAFE-PLAINTEXT-MARKER'))).toBe(false)
    expect(Buffer.compare(a, b)).not.toBe(0)
  })

  it('derives the same key from the same mnemonic on another device', async () => {
    const sealed = await encryptBytes(await accountKeyMaterial(accountFromMnemonic(PHRASE).secretKey), 'snapshots', bytes(5000))
    const elsewhere = await accountKeyMaterial(accountFromMnemonic(` ${PHRASE} `).secretKey)
    expect(await decryptBytes(elsewhere, 'snapshots', sealed)).toEqual(bytes(5000))
  })

  it('refuses another account, another purpose, tampering, reordering and truncation', async () => {
    const key = await accountKeyMaterial(accountFromMnemonic(PHRASE).secretKey)
    const chunk = 1024
    const sealed = await read(encryptStream(key, 'files', new Blob([bytes(4 * chunk) as Uint8Array<ArrayBuffer>]).stream(), chunk))
    const open = async (data: Uint8Array, k = key, purpose: 'files' | 'snapshots' = 'files'): Promise<unknown> =>
      read(decryptStream(k, purpose, new Blob([data as Uint8Array<ArrayBuffer>]).stream())).then(() => 'opened', (e: Error) => e.name)
    const other = await accountKeyMaterial(accountFromMnemonic(newMnemonic()).secretKey)
    expect(await open(sealed)).toBe('opened') // the control
    expect(await open(sealed, other)).toBe('DecryptionError')
    expect(await open(sealed, key, 'snapshots')).toBe('DecryptionError')
    const flipped = sealed.slice(); flipped[ENCRYPTION.headerBytes + 5] ^= 1
    expect(await open(flipped)).toBe('DecryptionError')
    const s = chunk + ENCRYPTION.tagBytes
    const h = ENCRYPTION.headerBytes
    const swapped = new Uint8Array(sealed.length)
    swapped.set(sealed.subarray(0, h)); swapped.set(sealed.subarray(h + s, h + 2 * s), h); swapped.set(sealed.subarray(h, h + s), h + s); swapped.set(sealed.subarray(h + 2 * s), h + 2 * s)
    expect(await open(swapped)).toBe('DecryptionError')
    expect(await open(sealed.subarray(0, sealed.length - s))).toBe('DecryptionError') // last chunk dropped
    expect(await open(sealed.subarray(0, 10))).toBe('DecryptionError')
    const badMagic = sealed.slice(); badMagic[0] = 0
    expect(await open(badMagic)).toBe('DecryptionError')
  })
})
