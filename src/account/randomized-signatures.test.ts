import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { ed25519 } from '@noble/curves/ed25519.js'
import { sha512 } from '@noble/hashes/sha2.js'
import { describe, expect, it } from 'vitest'
import { accountFromMnemonic, newMnemonic, registrationMessage, verifyAccountSignature, verifyAccountSignatureSync } from './index.ts'
import { isNewer, signContact, verifyContact } from '../contacts/contact.ts'
import type { Account } from './index.ts'

// Safari's WebCrypto makes randomized Ed25519 signatures (a random nonce, not RFC 8032's
// deterministic one): valid, and different each time for the same message. Nothing may treat
// a signature as a name for what it signs. Such signatures are made here by hand.

const L = ed25519.Point.Fn.ORDER
const le = (b: Uint8Array): bigint => b.reduceRight((n, x) => (n << 8n) | BigInt(x), 0n)
const toLe = (n: bigint): Uint8Array => Uint8Array.from({ length: 32 }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn))

/** An Ed25519 signature with a random nonce r: R = rB, S = r + H(R‖A‖M)·a mod L. */
function randomizedSign (secretKey: Uint8Array, message: Uint8Array): Uint8Array {
  const { scalar, pointBytes } = ed25519.utils.getExtendedPublicKey(secretKey)
  const r = le(sha512(crypto.getRandomValues(new Uint8Array(64)))) % L
  const R = ed25519.Point.BASE.multiply(r).toBytes()
  const k = le(sha512(Uint8Array.from([...R, ...pointBytes, ...message]))) % L
  return Uint8Array.from([...R, ...toLe((r + k * scalar) % L)])
}

const account = accountFromMnemonic(newMnemonic())
const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
const safari: Account = { ...account, sign: m => randomizedSign(account.secretKey, m) }

describe('randomized Ed25519 signatures (Safari\'s WebCrypto)', () => {
  it('differ each time and verify on both paths (WebCrypto and JavaScript)', async () => {
    const message = registrationMessage('12D3KooWCafe', account.address, 'nonce')
    const [a, b] = [safari.sign(message), safari.sign(message)]
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false)
    for (const sig of [a, b, account.sign(message)]) {
      expect(await verifyAccountSignature(account.address, message, sig)).toBe(true)
      expect(verifyAccountSignatureSync(account.address, message, sig)).toBe(true)
    }
  })

  it('two signings of one contact are the same version: neither replaces the other', () => {
    const fields = { name: 'Ada', peers: [peer], inboxes: [], box: 'A'.repeat(43) }
    const now = Date.now()
    const first = verifyContact(signContact(safari, fields, now))
    const second = verifyContact(signContact(safari, fields, now))
    expect(first.sig).not.toBe(second.sig)
    expect([isNewer(first, second), isNewer(second, first)]).toEqual([false, false])
    expect(isNewer(verifyContact(signContact(safari, fields, now + 1000)), first)).toBe(true)
  })
})
