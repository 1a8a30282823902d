import { describe, expect, it } from 'vitest'
import { accountFromMnemonic, addressFromPublicKey, isAddress, newMnemonic, publicKeyFromAddress, registrationMessage, verifyAccountSignature } from './index.ts'

// A fixed BIP39 test phrase: its derived address must never change, or every user loses their account.
const PHRASE = 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about'

describe('account from mnemonic', () => {
  it('derives the same key and address every time, on every device', () => {
    const a = accountFromMnemonic(PHRASE)
    const b = accountFromMnemonic(`  ${PHRASE.toUpperCase()}  `)
    expect(a.address).toBe(b.address)
    expect(Buffer.from(a.secretKey).toString('hex')).toBe(Buffer.from(b.secretKey).toString('hex'))
    expect(a.address).toMatch(/^z6Mk[1-9A-HJ-NP-Za-km-z]{44}$/)
    // Pinned value: a change of derivation path or encoding would break recovery.
    expect(a.address).toBe('z6MkguQ3Uvpiv1JQZwTNe1WdfVd5RbYcwW98gmAkNrdZSN29')
    expect(publicKeyFromAddress(a.address)).toEqual(a.publicKey)
  })

  it('gives different accounts for different mnemonics', () => {
    expect(accountFromMnemonic(newMnemonic()).address).not.toBe(accountFromMnemonic(newMnemonic()).address)
  })

  it('refuses words that are not a BIP39 phrase', () => {
    expect(() => accountFromMnemonic('hello world')).toThrow(/BIP39/)
    expect(() => accountFromMnemonic(PHRASE.replace('about', 'abandon'))).toThrow(/BIP39/) // bad checksum
  })
})

describe('addresses and signatures', () => {
  const acc = accountFromMnemonic(PHRASE)

  it('round-trips public key and address and rejects malformed ones', () => {
    expect(addressFromPublicKey(acc.publicKey)).toBe(acc.address)
    expect(isAddress(acc.address)).toBe(true)
    for (const bad of ['', 'z', 'x6Mk', acc.address.slice(0, -1), `${acc.address}1`, 'z' + '1'.repeat(100), 42, null]) {
      expect(isAddress(bad)).toBe(false)
    }
  })

  it('verifies a registration signature only for the right address, cafe and nonce', async () => {
    const msg = registrationMessage('cafeA', acc.address, 'nonce1')
    const sig = acc.sign(msg)
    expect(await verifyAccountSignature(acc.address, msg, sig)).toBe(true)
    expect(await verifyAccountSignature(acc.address, registrationMessage('cafeB', acc.address, 'nonce1'), sig)).toBe(false)
    expect(await verifyAccountSignature(acc.address, registrationMessage('cafeA', acc.address, 'nonce2'), sig)).toBe(false)
    const other = accountFromMnemonic(newMnemonic())
    expect(await verifyAccountSignature(other.address, msg, sig)).toBe(false)
    expect(await verifyAccountSignature('not-an-address', msg, sig)).toBe(false)
    expect(await verifyAccountSignature(acc.address, msg, sig.slice(1))).toBe(false)
  })
})
