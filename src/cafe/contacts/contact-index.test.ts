import { describe, expect, it } from 'vitest'
import { accountFromMnemonic, addressFromPublicKey, newMnemonic } from '../../account/index.ts'
import { boxKeyPair } from '../../account/box.ts'
import { signContact } from '../../contacts/contact.ts'
import { randomBytes, toBase64url } from '../../shared/bytes.ts'
import { ContactIndex } from './contact-index.ts'
import { MemoryContactStore } from './contact-store.ts'
import type { Account } from '../../account/index.ts'
import type { Contact } from '../../contacts/contact.ts'

const NOW = Date.parse('2025-06-01T12:00:00.000Z')
const contactOf = (account: Account, name: string, at: number = NOW): Contact =>
  signContact(account, { name, peers: [], inboxes: [], box: toBase64url(boxKeyPair(account.secretKey).publicKey) }, at)
const named = (index: ContactIndex, query: string, limit = 10): string[] => index.search(query, limit).map(hit => hit.contact.name)

const alice = accountFromMnemonic(newMnemonic())
const alex = accountFromMnemonic(newMnemonic())
const bob = accountFromMnemonic(newMnemonic())
const carol = accountFromMnemonic(newMnemonic())
const people = (): Contact[] => [
  contactOf(alice, 'Alice Smith'),
  contactOf(alex, 'Alex Smyth'),
  contactOf(bob, 'Bob Jones'),
  contactOf(carol, 'Carol Alison')
]

function indexOf (contacts: Contact[]): ContactIndex {
  const index = new ContactIndex()
  for (const contact of contacts) index.upsert(contact)
  return index
}

describe('the contact name index', () => {
  it('finds names by prefix, word by word, with every word required', () => {
    const index = indexOf(people())
    expect(index.size).toBe(4)
    expect(named(index, 'ali')).toContain('Alice Smith')
    expect(named(index, 'ali')).toContain('Carol Alison')
    expect(named(index, 'ali')).not.toContain('Bob Jones')
    expect(named(index, 'alice smi')).toEqual(['Alice Smith'])
    expect(named(index, 'bob')).toEqual(['Bob Jones'])
    expect(named(index, 'bob smith')).toEqual([])
    expect(named(index, '   ')).toEqual([])
    expect(named(index, 'zzz')).toEqual([])
  })

  it('finds names despite misspellings', () => {
    const index = indexOf(people())
    expect(named(index, 'Alcie')[0]).toBe('Alice Smith')
    expect(named(index, 'smth')).toContain('Alice Smith')
    expect(named(index, 'Smyth')).toContain('Alice Smith')
    // The exact spelling ranks first.
    expect(named(index, 'Smyth')[0]).toBe('Alex Smyth')
    expect(named(index, 'SMITH')[0]).toBe('Alice Smith')
  })

  it('ignores case and accents', () => {
    const index = indexOf([contactOf(alice, 'José Åberg')])
    expect(named(index, 'jose aberg')).toEqual(['José Åberg'])
    expect(named(index, 'JOSÉ')).toEqual(['José Åberg'])
  })

  it('returns full signed contacts, best first, at most limit of them', () => {
    const contacts = people()
    const index = indexOf(contacts)
    const hits = index.search('al', 10)
    expect(hits.length).toBeGreaterThanOrEqual(3)
    for (let i = 1; i < hits.length; i++) expect(hits[i - 1].score).toBeGreaterThanOrEqual(hits[i].score)
    for (const hit of hits) expect(hit.contact).toEqual(contacts.find(c => c.address === hit.contact.address))
    expect(index.search('al', 2)).toEqual(hits.slice(0, 2))
    expect(index.search('al', 0)).toEqual([])
  })

  it('replaces a renamed contact: the new name is found, the old one no longer', () => {
    const index = indexOf(people())
    const renamed = contactOf(alice, 'Alice Walker', NOW + 1000)
    expect(index.upsert(renamed)).toBe(true)
    expect(index.size).toBe(4)
    expect(named(index, 'walker')).toEqual(['Alice Walker'])
    expect(named(index, 'smith')).not.toContain('Alice Smith')
    expect(named(index, 'alice')).toEqual(['Alice Walker'])
    expect(index.byAddress(alice.address)).toEqual(renamed)
  })

  it('keeps the newest: an older or equally old contact does not replace the one held', () => {
    const index = indexOf([contactOf(alice, 'Alice New', NOW)])
    expect(index.upsert(contactOf(alice, 'Alice Old', NOW - 1000))).toBe(false)
    expect(index.upsert(contactOf(alice, 'Alice Same', NOW))).toBe(false)
    expect(named(index, 'alice')).toEqual(['Alice New'])
    expect(named(index, 'old')).toEqual([])
  })

  it('forgets a removed contact', () => {
    const index = indexOf(people())
    expect(index.remove(bob.address)).toBe(true)
    expect(index.remove(bob.address)).toBe(false)
    expect(index.size).toBe(3)
    expect(index.byAddress(bob.address)).toBeUndefined()
    expect(named(index, 'bob')).toEqual([])
    // Re-adding after a remove works (MiniSearch discards lazily).
    index.upsert(contactOf(bob, 'Bob Jones'))
    expect(named(index, 'bob')).toEqual(['Bob Jones'])
  })

  it('survives a reload: loading from the store gives the same results', async () => {
    const store = new MemoryContactStore()
    const live = new ContactIndex()
    for (const contact of people()) {
      if (await store.put(contact)) live.upsert(contact)
    }
    const renamed = contactOf(alex, 'Alexandra Smyth', NOW + 1000)
    if (await store.put(renamed)) live.upsert(renamed)
    await store.delete(bob.address)
    live.remove(bob.address)

    const reloaded = await ContactIndex.load(store)
    expect(reloaded.size).toBe(live.size)
    for (const query of ['ali', 'alex', 'alexandra', 'smith', 'smyth', 'alcie', 'bob', 'carol alison']) {
      expect(reloaded.search(query, 10)).toEqual(live.search(query, 10))
    }
    expect(named(reloaded, 'alexandra')).toEqual(['Alexandra Smyth'])
    expect(reloaded.byAddress(alex.address)).toEqual(renamed)
  })

  it('indexes and queries 10,000 contacts', () => {
    const FIRST = ['Alice', 'Bob', 'Carol', 'Dave', 'Erin', 'Frank', 'Grace', 'Heidi', 'Ivan', 'Judy', 'Mallory', 'Niaj', 'Olivia', 'Peggy', 'Rupert', 'Sybil', 'Trent', 'Victor', 'Walter', 'Zoe']
    const LAST = ['Smith', 'Jones', 'Taylor', 'Brown', 'Williams', 'Wilson', 'Johnson', 'Davies', 'Robinson', 'Wright', 'Thompson', 'Evans', 'Walker', 'White', 'Roberts', 'Green', 'Hall', 'Wood', 'Jackson', 'Clarke']
    // Distinct addresses with one template's box and signature: signing 10,000 keys takes ~20 s
    // here, and the index neither checks signatures nor cares whose they are (the store's
    // writers verify). The other tests use really signed contacts.
    const template = contactOf(alice, 'Template')
    let started = performance.now()
    const contacts: Contact[] = []
    for (let i = 0; i < 10_000; i++) {
      contacts.push({ ...template, address: addressFromPublicKey(randomBytes(32)), name: `${FIRST[i % 20]} ${LAST[Math.floor(i / 20) % 20]} ${i}` })
    }
    console.log(`made 10,000 contacts in ${Math.round(performance.now() - started)} ms`)

    started = performance.now()
    const index = indexOf(contacts)
    console.log(`indexed 10,000 contacts in ${Math.round(performance.now() - started)} ms`)
    expect(index.size).toBe(10_000)

    started = performance.now()
    const queries = ['ali', 'alcie smth', 'walker', 'zoe clarke', 'mallory', 'rob', 'victor wright 7']
    const found = queries.map(query => index.search(query, 20))
    console.log(`ran ${queries.length} queries in ${Math.round(performance.now() - started)} ms`)
    for (const hits of found) {
      expect(hits.length).toBeGreaterThan(0)
      expect(hits.length).toBeLessThanOrEqual(20)
    }
    expect(found[3].every(hit => hit.contact.name.startsWith('Zoe Clarke'))).toBe(true)
    expect(found[1].every(hit => hit.contact.name.startsWith('Alice Smith'))).toBe(true)
  })
})
