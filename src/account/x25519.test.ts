import { x25519 } from '@noble/curves/ed25519.js'
import { afterAll, describe, expect, it } from 'vitest'
import { ephemeralShared, resetX25519Backend, sharedSecret, x25519Backend } from './x25519.ts'

afterAll(() => { resetX25519Backend() })

/** Low-order points of Curve25519 (u = 0, u = 1, and one of order 8): each makes an all-zero secret. */
const LOW_ORDER = [new Uint8Array(32), Uint8Array.of(1, ...new Uint8Array(31)), Uint8Array.from(Buffer.from('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800', 'hex'))]

describe('X25519', () => {
  it('runs on WebCrypto in Node (as in Chromium)', async () => {
    resetX25519Backend()
    expect(await x25519Backend()).toBe('webcrypto')
  })

  describe.each([['webcrypto', true], ['noble', false]] as const)('through %s', (_name, native) => {
    it('gives noble\'s shared secret, from both sides', async () => {
      resetX25519Backend(native)
      for (let i = 0; i < 5; i++) {
        const a = crypto.getRandomValues(new Uint8Array(32))
        const b = crypto.getRandomValues(new Uint8Array(32))
        expect(await sharedSecret(a, x25519.getPublicKey(b))).toEqual(x25519.getSharedSecret(b, x25519.getPublicKey(a)))
      }
      const recipient = crypto.getRandomValues(new Uint8Array(32))
      const e = await ephemeralShared(x25519.getPublicKey(recipient))
      expect(await sharedSecret(recipient, e.publicKey)).toEqual(e.shared)
    })

    it('refuses low-order public keys, which would seal to everyone', async () => {
      resetX25519Backend(native)
      const secret = crypto.getRandomValues(new Uint8Array(32))
      for (const p of LOW_ORDER) {
        await expect(sharedSecret(secret, p)).rejects.toMatchObject({ name: 'BadX25519KeyError', reason: 'INVALID_BOX_KEY', status: 400 })
        await expect(ephemeralShared(p)).rejects.toMatchObject({ name: 'BadX25519KeyError', reason: 'INVALID_BOX_KEY', status: 400 })
      }
    })
  })
})

describe('X25519 on WebKitGTK\'s WebCrypto', () => {
  // WebKitGTK 2.50.6 (measured): importing a PKCS #8 X25519 key whose first byte is 0 fails
  // with DataError (14 of 3000 random keys), and generateKey fails with OperationError now and
  // then (~1 in 250). WebCrypto is made to behave so here, every key generation failing.
  const subtle = globalThis.crypto.subtle
  const { importKey, generateKey } = subtle
  const webkit = (): void => {
    Object.assign(subtle, {
      importKey: async (format: string, data: any, alg: any, extractable: boolean, usages: KeyUsage[]) => {
        if (format === 'pkcs8' && alg?.name === 'X25519' && new Uint8Array(data)[16] === 0) throw new DOMException('Data provided to an operation does not meet requirements', 'DataError')
        return importKey.call(subtle, format as any, data, alg, extractable, usages)
      },
      generateKey: async (alg: any, extractable: boolean, usages: KeyUsage[]) => {
        if (alg?.name === 'X25519') throw new DOMException('The operation failed for an operation-specific reason', 'OperationError')
        return generateKey.call(subtle, alg, extractable, usages)
      }
    })
  }
  const restore = (): void => { Object.assign(subtle, { importKey, generateKey }) }

  it('a secret WebKit will not import (first byte 0) still opens what was sealed to it, and a failed key generation still seals', async () => {
    resetX25519Backend(true)
    webkit()
    try {
      const recipient = crypto.getRandomValues(new Uint8Array(32))
      recipient[0] = 0
      const sender = crypto.getRandomValues(new Uint8Array(32))
      sender[0] = 7
      expect(await sharedSecret(recipient, x25519.getPublicKey(sender))).toEqual(x25519.getSharedSecret(sender, x25519.getPublicKey(recipient)))
      const e = await ephemeralShared(x25519.getPublicKey(recipient))
      expect(await sharedSecret(recipient, e.publicKey)).toEqual(e.shared)
      expect(e.shared).toEqual(x25519.getSharedSecret(recipient, e.publicKey))
    } finally {
      restore()
    }
  })
})
