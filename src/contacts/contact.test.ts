import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { beforeAll, describe, expect, it } from 'vitest'
import { accountFromMnemonic, newMnemonic } from '../account/account.ts'
import { boxKeyPair } from '../account/box.ts'
import { toBase64url, utf8 } from '../shared/bytes.ts'
import type { Contact } from './contact.ts'
import { CONTACT_LIMITS, contactSigningBytes, isNewer, signContact, verifyContact } from './contact.ts'

const NOW = Date.parse('2025-06-01T12:00:00.000Z')
const alice = accountFromMnemonic(newMnemonic())
const bob = accountFromMnemonic(newMnemonic())
const aliceBox = toBase64url(boxKeyPair(alice.secretKey).publicKey)
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
let ids: string[] = []

beforeAll(async () => {
  ids = await Promise.all(Array.from({ length: 17 }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()))
})

const make = (over: Partial<Parameters<typeof signContact>[1]> = {}): Contact =>
  signContact(alice, { name: 'Alice', peers: [ids[0]], inboxes: [ids[1], ids[2]], box: aliceBox, updated: '2025-06-01T11:00:00.000Z', ...over }, NOW)
const verify = (value: unknown): Contact => verifyContact(value, CONTACT_LIMITS, NOW)
/** As it arrives over the wire. */
const wire = (c: Contact): Record<string, unknown> => JSON.parse(JSON.stringify(c))

describe('signContact and verifyContact', () => {
  it('round-trips through JSON', () => {
    const contact = make({ name: '  Alice  ' })
    expect(contact.name).toBe('Alice')
    expect(contact.address).toBe(alice.address)
    expect(contact.sig).toMatch(/^[A-Za-z0-9_-]{86}$/)
    expect(verify(wire(contact))).toEqual(contact)
  })

  it('signs a fixed, documented encoding', () => {
    const contact = make()
    const { sig: _sig, ...unsigned } = contact
    expect(utf8.decode(contactSigningBytes(contact))).toBe(
      'lightcafe/contact/v1\n' +
      `{"address":"${alice.address}","name":"Alice","peers":["${ids[0]}"],"inboxes":["${ids[1]}","${ids[2]}"],"box":"${aliceBox}","updated":"2025-06-01T11:00:00.000Z"}`)
    // Key order of the input does not matter: the encoding fixes it.
    const shuffled = { updated: unsigned.updated, box: unsigned.box, inboxes: unsigned.inboxes, peers: unsigned.peers, name: unsigned.name, address: unsigned.address }
    expect(utf8.decode(contactSigningBytes(shuffled))).toBe(utf8.decode(contactSigningBytes(contact)))
  })

  it('defaults updated to now', () => {
    const contact = signContact(alice, { name: 'Alice', peers: [], inboxes: [], box: aliceBox }, NOW)
    expect(contact.updated).toBe('2025-06-01T12:00:00.000Z')
  })

  it('refuses to sign fields that verification would refuse', () => {
    expect(() => make({ name: '' })).toThrow(expect.objectContaining({ reason: 'INVALID_CONTACT' }))
    expect(() => make({ peers: ['nope'] })).toThrow(expect.objectContaining({ reason: 'INVALID_CONTACT' }))
  })

  it('refuses a change to any signed field', () => {
    const contact = wire(make())
    const changes: Record<string, unknown> = {
      address: bob.address,
      name: 'Mallory',
      peers: [ids[3]],
      inboxes: [ids[1]],
      box: toBase64url(boxKeyPair(bob.secretKey).publicKey),
      updated: '2025-06-01T11:00:00.001Z'
    }
    for (const [field, value] of Object.entries(changes)) {
      expect(() => verify({ ...contact, [field]: value }), field).toThrow(expect.objectContaining({ reason: 'BAD_SIGNATURE', name: 'BadSignatureError' }))
    }
  })

  it('refuses an altered or borrowed signature', () => {
    const contact = make()
    const sig = Buffer.from(contact.sig, 'base64url')
    sig[10] ^= 1
    expect(() => verify({ ...contact, sig: sig.toString('base64url') })).toThrow(expect.objectContaining({ reason: 'BAD_SIGNATURE' }))
    // Bob re-signing Alice's fields does not make them Alice's.
    const bobs = signContact(bob, { name: 'Alice', peers: [ids[0]], inboxes: [], box: aliceBox }, NOW)
    expect(() => verify({ ...bobs, address: alice.address })).toThrow(expect.objectContaining({ reason: 'BAD_SIGNATURE' }))
  })

  it('refuses wrong types in every field, missing and extra fields, and non-objects', () => {
    const contact = wire(make())
    for (const key of Object.keys(contact)) {
      for (const bad of [42, null, true, {}, key === 'peers' || key === 'inboxes' ? 'x' : []]) {
        expect(() => verify({ ...contact, [key]: bad }), `${key}=${JSON.stringify(bad)}`).toThrow(expect.objectContaining({ reason: 'INVALID_CONTACT', status: 400 }))
      }
      const { [key]: _dropped, ...missing } = contact
      expect(() => verify(missing), `missing ${key}`).toThrow(/missing/)
    }
    expect(() => verify({ ...contact, extra: 1 })).toThrow(/unknown field/)
    expect(() => verify({ ...contact, peers: [42] })).toThrow(expect.objectContaining({ reason: 'INVALID_CONTACT' }))
    for (const bad of [null, undefined, 'contact', 7, [contact]]) {
      expect(() => verify(bad)).toThrow(expect.objectContaining({ reason: 'INVALID_CONTACT' }))
    }
  })

  it('refuses names out of bounds or with control characters', () => {
    expect(make({ name: 'é'.repeat(64) }).name).toHaveLength(64)
    expect([...make({ name: '☕'.repeat(32) + '👩‍💻'.repeat(8) }).name].length).toBeLessThanOrEqual(64)
    expect(make({ name: '🐈'.repeat(64) }).name).toHaveLength(128) // 64 code points, 128 UTF-16 units
    const contact = wire(make())
    for (const name of ['', 'a'.repeat(65), '🐈'.repeat(65), ' Alice', 'Alice ', 'Al\u0000ice', 'Al\nice', 'Al\u007fice', 'Al\u2028ice', 'Al\u202Eecila', 'Al\u2066ice', 'Al\uD800ice']) {
      expect(() => verify({ ...contact, name }), JSON.stringify(name)).toThrow(expect.objectContaining({ reason: 'INVALID_CONTACT' }))
    }
  })

  it('refuses bad peer lists, box keys, times and signatures', () => {
    const contact = wire(make())
    const cases: Record<string, unknown> = {
      'nine peers': { peers: ids.slice(0, 9) },
      'nine inboxes': { inboxes: ids.slice(0, 9) },
      'a peer twice': { peers: [ids[0], ids[0]] },
      'not a peer id': { inboxes: ['12D3KooWnotapeerid'] },
      'a peer id as CID (too long)': { peers: [peerIdFromString(ids[0]).toCID().toString()] },
      'an RSA-style peer id': { peers: ['QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N'] },
      'an address as peer': { peers: [alice.address] },
      'short box': { box: toBase64url(new Uint8Array(31)) },
      'long box': { box: toBase64url(new Uint8Array(33)) },
      'non-canonical box': { box: aliceBox.slice(0, -1) + B64[B64.indexOf(aliceBox.at(-1) as string) | 1] }, // a spare bit set
      'padded box': { box: aliceBox + '=' },
      'time without ms': { updated: '2025-06-01T11:00:00Z' },
      'time with offset': { updated: '2025-06-01T11:00:00.000+00:00' },
      'no such day': { updated: '2025-02-30T11:00:00.000Z' },
      'time in the future': { updated: '2025-06-01T12:10:00.001Z' },
      'short sig': { sig: (contact.sig as string).slice(0, -2) },
      'sig not base64url': { sig: '+'.repeat(86) }
    }
    for (const [label, change] of Object.entries(cases)) {
      expect(() => verify({ ...contact, ...(change as object) }), label).toThrow(expect.objectContaining({ reason: 'INVALID_CONTACT' }))
    }
    // The same peer id spelt as a CID is refused even where its length would be allowed: one spelling each.
    const roomy = { ...CONTACT_LIMITS, maxPeerIdLength: 128 }
    expect(() => verifyContact({ ...contact, peers: [peerIdFromString(ids[0]).toCID().toString()] }, roomy, NOW)).toThrow(/canonical/)
    // Within the clock skew allowance is fine.
    expect(make({ updated: '2025-06-01T12:10:00.000Z' }).updated).toBe('2025-06-01T12:10:00.000Z')
  })

  it('bounds the encoded size', () => {
    const full = make({ name: '🐈'.repeat(64), peers: ids.slice(0, 8), inboxes: ids.slice(8, 16) })
    // Every field at its bound still fits the default limit, with room.
    expect(utf8.encode(JSON.stringify(full)).length).toBeLessThan(CONTACT_LIMITS.maxBytes / 2)
    expect(verify(wire(full))).toEqual(full)
    const small = { ...CONTACT_LIMITS, maxBytes: 1024 }
    expect(() => verifyContact(wire(full), small, NOW)).toThrow(expect.objectContaining({ reason: 'INVALID_CONTACT', status: 413 }))
    expect(verifyContact(wire(make()), small, NOW).name).toBe('Alice')
  })
})

describe('isNewer', () => {
  it('orders versions of one account by updated; a tie is not newer', () => {
    const older = make({ updated: '2025-06-01T10:00:00.000Z' })
    const newer = make({ updated: '2025-06-01T10:00:00.001Z' })
    expect(isNewer(newer, older)).toBe(true)
    expect(isNewer(older, newer)).toBe(false)
    expect(isNewer(newer, make({ name: 'Other', updated: '2025-06-01T10:00:00.001Z' }))).toBe(false)
    expect(isNewer(older, older)).toBe(false)
  })

  it('never replaces another account\'s contact', () => {
    const bobs = signContact(bob, { name: 'Bob', peers: [], inboxes: [], box: aliceBox, updated: '2025-06-01T11:30:00.000Z' }, NOW)
    expect(isNewer(bobs, make())).toBe(false)
  })
})
