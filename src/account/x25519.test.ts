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
