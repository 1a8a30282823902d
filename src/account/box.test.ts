import * as nodeCrypto from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { accountFromMnemonic, newMnemonic } from './account.ts'
import { BOX, BOX_OVERHEAD, BoxOpenError, boxKeyPair, open, seal } from './box.ts'
import { utf8 } from '../shared/bytes.ts'

const PHRASE = 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about'
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

describe('box key pair', () => {
  it('is the same for the same account secret, on every device', () => {
    const a = boxKeyPair(accountFromMnemonic(PHRASE).secretKey)
    const b = boxKeyPair(accountFromMnemonic(PHRASE).secretKey)
    expect(hex(a.publicKey)).toBe(hex(b.publicKey))
    expect(hex(a.secretKey)).toBe(hex(b.secretKey))
    expect(a.publicKey.length).toBe(32)
    // Pinned: a change of derivation would make every published contact's box key unopenable.
    expect(hex(a.publicKey)).toBe('f91bd5fc4a14113d1c46c7dd224e9a2b0fc38bd3173d4bbf40da475894e8766a')
  })

  it('differs between accounts and from the signing key', () => {
    const one = accountFromMnemonic(newMnemonic())
    const two = accountFromMnemonic(newMnemonic())
    expect(hex(boxKeyPair(one.secretKey).publicKey)).not.toBe(hex(boxKeyPair(two.secretKey).publicKey))
    expect(hex(boxKeyPair(one.secretKey).secretKey)).not.toBe(hex(one.secretKey))
  })

  it('refuses a secret that is not 32 bytes', () => {
    expect(() => boxKeyPair(new Uint8Array(31))).toThrow(/32 bytes/)
  })
})

describe('seal and open', () => {
  const bob = boxKeyPair(accountFromMnemonic(PHRASE).secretKey)
  const carol = boxKeyPair(accountFromMnemonic(newMnemonic()).secretKey)
  const message = utf8.encode('meet at the cafe at noon')

  it('round-trips, with a fresh ephemeral key and iv each time', async () => {
    const a = await seal(bob.publicKey, message)
    const b = await seal(bob.publicKey, message)
    expect(a.length).toBe(message.length + BOX_OVERHEAD)
    expect(a[0]).toBe(BOX.version)
    expect(hex(a)).not.toBe(hex(b))
    expect(utf8.decode(await open(bob.secretKey, a))).toBe('meet at the cafe at noon')
    expect(utf8.decode(await open(bob.secretKey, b))).toBe('meet at the cafe at noon')
    expect((await open(bob.secretKey, await seal(bob.publicKey, new Uint8Array(0)))).length).toBe(0)
  })

  it('follows the documented format (opened here with node:crypto, not our code)', async () => {
    const aad = utf8.encode('context')
    const sealed = await seal(bob.publicKey, message, aad)
    const pkcs8 = (sk: Uint8Array): nodeCrypto.KeyObject => nodeCrypto.createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), sk]), format: 'der', type: 'pkcs8' })
    const spki = (pk: Uint8Array): nodeCrypto.KeyObject => nodeCrypto.createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b656e032100', 'hex'), pk]), format: 'der', type: 'spki' })
    const ephemeral = sealed.subarray(1, 33)
    const iv = sealed.subarray(33, 45)
    const shared = nodeCrypto.diffieHellman({ privateKey: pkcs8(bob.secretKey), publicKey: spki(ephemeral) })
    const key = Buffer.from(nodeCrypto.hkdfSync('sha256', shared, Buffer.concat([ephemeral, bob.publicKey]), 'lightcafe/box/v1', 32))
    const decipher = nodeCrypto.createDecipheriv('aes-256-gcm', key, iv)
    decipher.setAAD(Buffer.concat([sealed.subarray(0, 45), aad]))
    decipher.setAuthTag(sealed.subarray(-16))
    const plain = Buffer.concat([decipher.update(sealed.subarray(45, -16)), decipher.final()])
    expect(plain.toString()).toBe('meet at the cafe at noon')
  })

  it('does not open for another recipient', async () => {
    const sealed = await seal(bob.publicKey, message)
    await expect(open(carol.secretKey, sealed)).rejects.toThrow(BoxOpenError)
    await expect(open(carol.secretKey, sealed)).rejects.toMatchObject({ reason: 'DECRYPTION_FAILED', status: 400 })
  })

  it('refuses a change to any byte: version, ephemeral key, iv, ciphertext, tag', async () => {
    const sealed = await seal(bob.publicKey, message)
    const positions = { version: 0, ephemeral: 1, ephemeralLast: 32, iv: 33, ivLast: 44, ciphertext: 45, tag: sealed.length - 1 }
    for (const [part, i] of Object.entries(positions)) {
      const bad = sealed.slice()
      bad[i] ^= 0x01
      await expect(open(bob.secretKey, bad), part).rejects.toMatchObject({ reason: 'DECRYPTION_FAILED' })
    }
    // Another version is named as such, not reported as tampering.
    const v2 = sealed.slice()
    v2[0] = 2
    await expect(open(bob.secretKey, v2)).rejects.toThrow(/unknown box version 2/)
  })

  it('refuses truncated, extended and empty boxes', async () => {
    const sealed = await seal(bob.publicKey, message)
    for (const n of [0, 1, BOX.headerBytes, BOX_OVERHEAD - 1, sealed.length - 1]) {
      await expect(open(bob.secretKey, sealed.slice(0, n)), `length ${n}`).rejects.toMatchObject({ reason: 'DECRYPTION_FAILED' })
    }
    const longer = new Uint8Array(sealed.length + 1)
    longer.set(sealed)
    await expect(open(bob.secretKey, longer)).rejects.toMatchObject({ reason: 'DECRYPTION_FAILED' })
  })

  it('binds the associated data', async () => {
    const aad = utf8.encode('from alice to bob')
    const sealed = await seal(bob.publicKey, message, aad)
    expect(utf8.decode(await open(bob.secretKey, sealed, aad))).toBe('meet at the cafe at noon')
    await expect(open(bob.secretKey, sealed, utf8.encode('from mallory to bob'))).rejects.toMatchObject({ reason: 'DECRYPTION_FAILED' })
    await expect(open(bob.secretKey, sealed)).rejects.toMatchObject({ reason: 'DECRYPTION_FAILED' })
  })

  it('bounds the plaintext size', async () => {
    const max = new Uint8Array(BOX.maxPlaintextBytes)
    expect((await open(bob.secretKey, await seal(bob.publicKey, max))).length).toBe(BOX.maxPlaintextBytes)
    await expect(seal(bob.publicKey, new Uint8Array(BOX.maxPlaintextBytes + 1))).rejects.toMatchObject({ reason: 'BOX_TOO_LARGE', status: 413 })
    // Refused on its length alone, before any key agreement or decryption.
    const tooLong = new Uint8Array(BOX_OVERHEAD + BOX.maxPlaintextBytes + 1)
    tooLong[0] = BOX.version
    await expect(open(bob.secretKey, tooLong)).rejects.toThrow(expect.objectContaining({ reason: 'DECRYPTION_FAILED', message: expect.stringMatching(/too long/) }))
  })

  it('refuses recipient keys that are the wrong size or of low order', async () => {
    await expect(seal(new Uint8Array(31), message)).rejects.toMatchObject({ reason: 'INVALID_BOX_KEY' })
    // u = 0 and u = 1 are low-order points: the shared secret would be all zeros, known to everyone.
    await expect(seal(new Uint8Array(32), message)).rejects.toMatchObject({ reason: 'INVALID_BOX_KEY' })
    await expect(seal(Uint8Array.of(1, ...new Uint8Array(31)), message)).rejects.toMatchObject({ reason: 'INVALID_BOX_KEY' })
  })

  it('refuses a box whose ephemeral key is of low order', async () => {
    const sealed = await seal(bob.publicKey, message)
    sealed.fill(0, 1, 33)
    await expect(open(bob.secretKey, sealed)).rejects.toMatchObject({ reason: 'DECRYPTION_FAILED' })
  })
})
