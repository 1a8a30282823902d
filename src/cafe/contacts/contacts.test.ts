import { describe, expect, it } from 'vitest'
import { accountFromMnemonic, newMnemonic } from '../../account/index.ts'
import { boxKeyPair } from '../../account/box.ts'
import { signContact } from '../../contacts/contact.ts'
import { toBase64url } from '../../shared/bytes.ts'
import { MemoryContactStore } from './contact-store.ts'
import { CafeContacts } from './contacts.ts'
import type { Account } from '../../account/index.ts'
import type { Contact } from '../../contacts/contact.ts'

const NOW = Date.parse('2025-06-01T12:00:00.000Z')
const alice = accountFromMnemonic(newMnemonic())
const bob = accountFromMnemonic(newMnemonic())
const contactOf = (account: Account, name: string, at: number): Contact =>
  signContact(account, { name, peers: [], inboxes: [], box: toBase64url(boxKeyPair(account.secretKey).publicKey) }, at)
const wire = (c: Contact): unknown => JSON.parse(JSON.stringify(c))

describe('the contacts a cafe holds', () => {
  it('publishes a client\'s own contact and serves it to anyone', async () => {
    const contacts = new CafeContacts(new MemoryContactStore(), () => NOW)
    const mine = contactOf(alice, 'Alice', NOW)
    expect(await contacts.publish(alice.address, wire(mine))).toEqual(mine)
    expect(await contacts.get(alice.address)).toEqual(mine)
    expect(await contacts.all()).toEqual([mine])
    await expect(contacts.get(bob.address)).rejects.toMatchObject({ reason: 'CONTACT_NOT_FOUND', status: 404 })
    await expect(contacts.get('not-an-address')).rejects.toMatchObject({ status: 400 })
  })

  it('refuses another account\'s contact, even one validly signed by it', async () => {
    const contacts = new CafeContacts(new MemoryContactStore(), () => NOW)
    await expect(contacts.publish(alice.address, wire(contactOf(bob, 'Bob', NOW)))).rejects.toMatchObject({ reason: 'CONTACT_NOT_YOURS', status: 403 })
    expect(await contacts.all()).toEqual([])
  })

  it('refuses a forged or malformed contact', async () => {
    const contacts = new CafeContacts(new MemoryContactStore(), () => NOW)
    const forged = { ...contactOf(alice, 'Alice', NOW), name: 'Mallory' }
    await expect(contacts.publish(alice.address, wire(forged))).rejects.toMatchObject({ reason: 'BAD_SIGNATURE', status: 400 })
    await expect(contacts.publish(alice.address, { address: alice.address })).rejects.toMatchObject({ reason: 'INVALID_CONTACT', status: 400 })
  })

  it('keeps the newest: an older or equally old contact is refused, a newer one replaces', async () => {
    const contacts = new CafeContacts(new MemoryContactStore(), () => NOW)
    const v1 = contactOf(alice, 'Alice', NOW - 2000)
    const v2 = contactOf(alice, 'Alice 2', NOW - 1000)
    await contacts.publish(alice.address, wire(v2))
    await expect(contacts.publish(alice.address, wire(v1))).rejects.toMatchObject({ reason: 'CONTACT_STALE', status: 409 })
    await expect(contacts.publish(alice.address, wire(contactOf(alice, 'Same time', NOW - 1000)))).rejects.toMatchObject({ reason: 'CONTACT_STALE', status: 409 })
    expect((await contacts.get(alice.address)).name).toBe('Alice 2')
    const v3 = contactOf(alice, 'Alice 3', NOW)
    await contacts.publish(alice.address, wire(v3))
    expect(await contacts.get(alice.address)).toEqual(v3)
  })

  it('answers for its owner (not a client of its own cafe) once the owner gives its contact, so guests can write to it', async () => {
    const contacts = new CafeContacts(new MemoryContactStore(), () => NOW)
    const changes: Array<[string, string | undefined]> = []
    contacts.addEventListener('change', ({ detail: { address, contact } }) => changes.push([address, contact?.name]))
    await expect(contacts.get(bob.address)).rejects.toMatchObject({ reason: 'CONTACT_NOT_FOUND' })
    const owner = contactOf(bob, 'Owner', NOW)
    contacts.setOwner(wire(owner))
    expect(await contacts.get(bob.address)).toEqual(owner)
    // Checked like any contact: a forged one is refused and the one held stays.
    expect(() => { contacts.setOwner({ ...wire(owner) as object, name: 'Mallory' }) }).toThrow()
    expect((await contacts.get(bob.address)).name).toBe('Owner')
    // Another account takes the tab over: the old owner is gone from the answers and the index.
    contacts.setOwner(wire(contactOf(alice, 'New owner', NOW)))
    await expect(contacts.get(bob.address)).rejects.toMatchObject({ reason: 'CONTACT_NOT_FOUND' })
    expect(changes).toEqual([[bob.address, 'Owner'], [bob.address, undefined], [alice.address, 'New owner']])
  })

  it('forgets a contact on remove', async () => {
    const contacts = new CafeContacts(new MemoryContactStore(), () => NOW)
    await contacts.publish(alice.address, wire(contactOf(alice, 'Alice', NOW)))
    await contacts.remove(alice.address)
    await contacts.remove(alice.address)
    await expect(contacts.get(alice.address)).rejects.toMatchObject({ reason: 'CONTACT_NOT_FOUND' })
    // Gone means gone: an older copy may come back, which is the owner's to replace.
    await contacts.publish(alice.address, wire(contactOf(alice, 'Alice', NOW - 5000)))
  })
})
