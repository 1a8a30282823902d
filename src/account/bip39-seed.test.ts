import { mnemonicToSeedSync } from '@scure/bip39'
import { describe, expect, it } from 'vitest'
import { accountFromMnemonic, bip39Seed, loadAccount, newMnemonic } from './index.ts'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

// Published BIP39 test vectors (trezor/python-mnemonic, vectors.json, passphrase "TREZOR"):
// the native PBKDF2 must give the standard seed, or a phrase restored in another wallet
// would be another account.
const VECTORS: Array<[string, string]> = [
  ['abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about',
    'c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e53495531f09a6987599d18264c1e1c92f2cf141630c7a3c4ab7c81b2f001698e7463b04'],
  ['legal winner thank year wave sausage worth useful legal winner thank yellow',
    '2e8905819b8723fe2c1d161860e5ee1830318dbf49a83bd451cfb8440c28bd6fa457fe1296106559a3c80937a1c1069be3a3a5bd381ee6260e8d9739fce1f607'],
  ['zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo wrong',
    'ac27495480225222079d7be181583751e86f571027b0497b5b5d11218e0a8a13332572917f0f8e5a589620c6f15b11c61dee327651a14c34e18231052e48c069']
]

describe('BIP39 seed by WebCrypto PBKDF2', () => {
  it('matches the published vectors', async () => {
    for (const [words, seed] of VECTORS) expect(hex(await bip39Seed(words, 'TREZOR'))).toBe(seed)
  })

  it('gives the same seed as the JavaScript PBKDF2, with and without a passphrase', async () => {
    for (let i = 0; i < 5; i++) {
      const words = newMnemonic()
      expect(hex(await bip39Seed(words))).toBe(hex(mnemonicToSeedSync(words)))
      expect(hex(await bip39Seed(words, 'pässword'))).toBe(hex(mnemonicToSeedSync(words, 'pässword')))
    }
  })

  it('loads the same account as accountFromMnemonic (the pinned address included)', async () => {
    const phrase = VECTORS[0][0]
    const native = await loadAccount(`  ${phrase.toUpperCase()} `)
    expect(native.address).toBe('z6MkguQ3Uvpiv1JQZwTNe1WdfVd5RbYcwW98gmAkNrdZSN29')
    expect(hex(native.secretKey)).toBe(hex(accountFromMnemonic(phrase).secretKey))
    await expect(loadAccount('not a phrase')).rejects.toThrow(/mnemonic/)
  })
})
