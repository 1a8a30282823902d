import { describe, expect, it } from 'vitest'
import { accountFromMnemonic, newMnemonic } from '../account/account.ts'
import type { Account } from '../account/account.ts'
import { BOX, boxKeyPair } from '../account/box.ts'
import { signContact } from '../contacts/contact.ts'
import { toBase64url, utf8 } from '../shared/bytes.ts'
import type { Contact } from '../contacts/contact.ts'
import type { Envelope } from './envelope.ts'
import { ENVELOPE_LIMITS, createEnvelope, envelopeSigningBytes, openEnvelope, verifyEnvelope } from './envelope.ts'

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const NOW = Date.parse('2025-06-01T12:00:00.000Z')
const alice = accountFromMnemonic(newMnemonic())
const bob = accountFromMnemonic(newMnemonic())
const mallory = accountFromMnemonic(newMnemonic())
const contactOf = (account: Account): Contact => signContact(account, { name: 'someone', peers: [], inboxes: [], box: toBase64url(boxKeyPair(account.secretKey).publicKey) }, NOW)
const bobContact = contactOf(bob)
const bobBox = boxKeyPair(bob.secretKey)
const hello = utf8.encode('hello bob, it is alice')

const verify = async (value: unknown): Promise<Envelope> => verifyEnvelope(value, ENVELOPE_LIMITS, NOW)
const wire = (e: Envelope): Record<string, unknown> => JSON.parse(JSON.stringify(e))
/** Re-signs changed fields as `signer`: a well-formed envelope, so only the check under test can refuse it. */
const resign = (signer: Account, e: Omit<Envelope, 'sig'>): Envelope => ({ ...e, sig: toBase64url(signer.sign(envelopeSigningBytes(e))) })
const flip = (b64: string, i: number): string => { const b = Buffer.from(b64, 'base64url'); b[i] ^= 1; return b.toString('base64url') }

describe('envelopes', () => {
  it('round-trips between two accounts', async () => {
    const envelope = await createEnvelope(alice, bobContact, hello, NOW)
    expect(envelope).toMatchObject({ from: alice.address, to: bob.address, created: '2025-06-01T12:00:00.000Z' })
    expect(envelope.id).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(envelope.body).not.toContain(toBase64url(hello).slice(0, 8))
    const received = await verify(wire(envelope))
    expect(received).toEqual(envelope)
    expect(utf8.decode(await openEnvelope(bobBox.secretKey, received))).toBe('hello bob, it is alice')
    expect((await createEnvelope(alice, bobContact, hello, NOW)).id).not.toBe(envelope.id)
  })

  it('signs a fixed, documented encoding', async () => {
    const e = await createEnvelope(alice, bobContact, hello, NOW)
    expect(utf8.decode(envelopeSigningBytes(e))).toBe(
      `lightcafe/envelope/v1\n{"id":"${e.id}","from":"${alice.address}","to":"${bob.address}","created":"${e.created}","body":"${e.body}"}`)
  })

  it('does not open for anyone but the recipient', async () => {
    const envelope = await createEnvelope(alice, bobContact, hello, NOW)
    await expect(openEnvelope(boxKeyPair(mallory.secretKey).secretKey, envelope)).rejects.toMatchObject({ reason: 'DECRYPTION_FAILED' })
    await expect(openEnvelope(bob.secretKey, envelope)).rejects.toMatchObject({ reason: 'DECRYPTION_FAILED' }) // the signing seed is not the box key
  })

  it('refuses a forged signature and any change to a signed field', async () => {
    const envelope = wire(await createEnvelope(alice, bobContact, hello, NOW))
    const changes: Record<string, unknown> = {
      sig: flip(envelope.sig as string, 5),
      id: toBase64url(new Uint8Array(16)),
      from: mallory.address,
      to: mallory.address,
      created: '2025-06-01T11:59:59.999Z',
      body: flip(envelope.body as string, 50)
    }
    for (const [field, value] of Object.entries(changes)) {
      await expect(verify({ ...envelope, [field]: value }), field).rejects.toMatchObject({ reason: 'BAD_SIGNATURE', name: 'BadSignatureError' })
    }
  })

  it('refuses a sender/recipient swap', async () => {
    const envelope = wire(await createEnvelope(alice, bobContact, hello, NOW))
    await expect(verify({ ...envelope, from: envelope.to, to: envelope.from })).rejects.toMatchObject({ reason: 'BAD_SIGNATURE' })
  })

  it('does not let another sender claim a body as theirs', async () => {
    const { sig: _sig, ...original } = await createEnvelope(alice, bobContact, hello, NOW)
    // Mallory signs Alice's sealed body under his own name: a valid envelope from Mallory…
    const stolen = await verify(wire(resign(mallory, { ...original, from: mallory.address })))
    // …whose body does not open, since the box is bound to its sender.
    await expect(openEnvelope(bobBox.secretKey, stolen)).rejects.toMatchObject({ reason: 'DECRYPTION_FAILED' })
    // Same with a new id or time under Alice's own name, which needs Alice's key to sign at all.
    const moved = resign(alice, { ...original, id: toBase64url(new Uint8Array(16).fill(7)) })
    await expect(openEnvelope(bobBox.secretKey, await verify(wire(moved)))).rejects.toMatchObject({ reason: 'DECRYPTION_FAILED' })
  })

  it('refuses malformed ids', async () => {
    const { sig: _sig, ...unsigned } = await createEnvelope(alice, bobContact, hello, NOW)
    const canonical = unsigned.id
    // 22 characters carry 132 bits for 128: the last one holds 4 spare bits, which must be zero.
    const nonCanonical = canonical.slice(0, -1) + B64[B64.indexOf(canonical.at(-1) as string) | 1]
    for (const id of ['', 'abc', toBase64url(new Uint8Array(15)), toBase64url(new Uint8Array(17)), '+'.repeat(22), canonical + '=', nonCanonical, 42, null]) {
      await expect(verify(resign(alice, { ...unsigned, id: id as string })), JSON.stringify(id)).rejects.toMatchObject({ reason: 'INVALID_ENVELOPE' })
    }
  })

  it('refuses wrong types, bad addresses and times, bodies that are not boxes, and extra fields', async () => {
    const { sig: _sig, ...unsigned } = await createEnvelope(alice, bobContact, hello, NOW)
    const envelope = wire(resign(alice, unsigned))
    for (const key of Object.keys(envelope)) {
      for (const bad of [42, null, {}, []]) {
        await expect(verify({ ...envelope, [key]: bad }), `${key}=${JSON.stringify(bad)}`).rejects.toMatchObject({ reason: 'INVALID_ENVELOPE' })
      }
      const { [key]: _dropped, ...missing } = envelope
      await expect(verify(missing), `missing ${key}`).rejects.toThrow(/missing/)
    }
    await expect(verify({ ...envelope, cafe: 'x' })).rejects.toThrow(/unknown field/)
    for (const bad of [null, 'envelope', [envelope]]) await expect(verify(bad)).rejects.toMatchObject({ reason: 'INVALID_ENVELOPE' })
    const cases: Record<string, Partial<Omit<Envelope, 'sig'>>> = {
      'from not an address': { from: 'z6Mkfoo' },
      'to not an address': { to: alice.address.slice(0, -1) },
      'created without ms': { created: '2025-06-01T12:00:00Z' },
      'created in the future': { created: '2025-06-01T13:00:00.001Z' },
      'body too short for a box': { body: toBase64url(new Uint8Array(BOX.headerBytes + BOX.tagBytes - 1).fill(1)) },
      'body of another box version': { body: flip(unsigned.body, 0) },
      'body not base64url': { body: unsigned.body.replace(/^./, '+') },
      'body padded': { body: unsigned.body + '=' },
      'body not canonical': { body: unsigned.body.slice(0, -1) + B64[B64.indexOf(unsigned.body.at(-1) as string) | 1] } // 83 bytes: 2 spare bits
    }
    for (const [label, change] of Object.entries(cases)) {
      // Signed by Alice, so only the field check can refuse it.
      await expect(verify(wire(resign(alice, { ...unsigned, ...change }))), label).rejects.toMatchObject({ reason: 'INVALID_ENVELOPE' })
    }
  })

  it('bounds the size', async () => {
    // The largest message a box takes still fits a default envelope.
    const full = await createEnvelope(alice, bobContact, new Uint8Array(BOX.maxPlaintextBytes).fill(1), NOW)
    expect(JSON.stringify(full).length).toBeLessThanOrEqual(ENVELOPE_LIMITS.maxBytes)
    expect((await openEnvelope(bobBox.secretKey, await verify(wire(full)))).length).toBe(BOX.maxPlaintextBytes)
    await expect(createEnvelope(alice, bobContact, new Uint8Array(BOX.maxPlaintextBytes + 1), NOW)).rejects.toMatchObject({ reason: 'BOX_TOO_LARGE', status: 413 })
    // A body larger than the limit is refused before it is decoded, whatever it holds.
    const huge = { ...wire(full), body: 'A'.repeat(ENVELOPE_LIMITS.maxBytes + 1) }
    await expect(verify(huge)).rejects.toMatchObject({ reason: 'INVALID_ENVELOPE', status: 413 })
    // A tighter limit counts the whole envelope.
    const small = { ...ENVELOPE_LIMITS, maxBytes: 1024 }
    const message = await createEnvelope(alice, bobContact, new Uint8Array(600), NOW)
    await expect(verifyEnvelope(wire(message), small, NOW)).rejects.toMatchObject({ reason: 'INVALID_ENVELOPE', status: 413 })
    expect((await verifyEnvelope(wire(await createEnvelope(alice, bobContact, hello, NOW)), small, NOW)).to).toBe(bob.address)
  })

  it('refuses to seal to a contact without a usable box key', async () => {
    await expect(createEnvelope(alice, { ...bobContact, box: 'short' }, hello, NOW)).rejects.toMatchObject({ reason: 'INVALID_CONTACT' })
    await expect(createEnvelope(alice, { ...bobContact, box: toBase64url(new Uint8Array(32)) }, hello, NOW)).rejects.toMatchObject({ reason: 'INVALID_BOX_KEY' })
    await expect(createEnvelope(alice, { ...bobContact, address: 'nobody' }, hello, NOW)).rejects.toMatchObject({ reason: 'INVALID_ENVELOPE' })
  })
})
