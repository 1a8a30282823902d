import { describe, expect, it } from 'vitest'
import { accountFromMnemonic, newMnemonic } from '../account/index.ts'
import { boxKeyPair } from '../account/box.ts'
import { signContact } from '../contacts/contact.ts'
import { toBase64url } from '../shared/bytes.ts'
import { AnswerMerger, mergeAnswers } from './merge.ts'
import type { Account } from '../account/index.ts'
import type { Contact } from '../contacts/contact.ts'

const NOW = Date.parse('2025-06-01T12:00:00.000Z')
const contactOf = (account: Account, name: string, at: number = NOW): Contact =>
  signContact(account, { name, peers: [], inboxes: [], box: toBase64url(boxKeyPair(account.secretKey).publicKey) }, at)
// As it arrives from another cafe: parsed JSON.
const wire = (...results: Array<{ contact: unknown, score: number }>): unknown[] => JSON.parse(JSON.stringify(results))

const alice = accountFromMnemonic(newMnemonic())
const bob = accountFromMnemonic(newMnemonic())
const carol = accountFromMnemonic(newMnemonic())
const a1 = contactOf(alice, 'Alice', NOW - 2000)
const a2 = contactOf(alice, 'Alice Walker', NOW - 1000)
const b = contactOf(bob, 'Bob')
const c = contactOf(carol, 'Carol')
const dave = accountFromMnemonic(newMnemonic())
const al = contactOf(dave, 'Alan')

describe('merging search answers from several cafes', () => {
  it('lists a matching contact returned by several cafes once, with every cafe', async () => {
    const { results, ignoredCafes } = await mergeAnswers('al', [
      { cafe: 'cafe1', results: wire({ contact: a1, score: 3 }, { contact: al, score: 1 }) },
      { cafe: 'cafe2', results: wire({ contact: a1, score: 5 }) }
    ], 10, NOW)
    expect(ignoredCafes).toEqual([])
    expect(new Map(results.map(r => [r.contact.address, r.cafes]))).toEqual(new Map([[a1.address, ['cafe1', 'cafe2']], [al.address, ['cafe1']]]))
  })

  it('keeps the newest version of a contact, whichever cafe returned it and in any order', async () => {
    for (const order of [[a1, a2], [a2, a1]]) {
      const { results } = await mergeAnswers('alice', [
        { cafe: 'x', results: wire({ contact: order[0], score: 9 }) },
        { cafe: 'y', results: wire({ contact: order[1], score: 2 }) }
      ], 10, NOW)
      expect(results.map(r => [r.contact, r.cafes])).toEqual([[a2, ['x', 'y']]])
    }
  })

  it('drops every result of a cafe that returned one forged contact', async () => {
    const forged = { ...b, name: 'Bob (really Mallory)' }
    const { results, ignoredCafes } = await mergeAnswers('alice', [
      { cafe: 'honest', results: wire({ contact: a1, score: 1 }) },
      { cafe: 'liar', results: wire({ contact: c, score: 100 }, { contact: a2, score: 100 }, { contact: forged, score: 1 }) }
    ], 10, NOW)
    expect(ignoredCafes).toEqual(['liar'])
    // Not even the genuine newer Alice from the liar.
    expect(results.map(r => [r.contact, r.cafes])).toEqual([[a1, ['honest']]])
  })

  it('ignores malformed answers whole', async () => {
    const bad: unknown[] = [
      null, 'results', { contact: a1, score: 1 }, // not an array
      [null], [[a1]], [a1], // not { contact, score }
      wire({ contact: a1, score: -1 }), [{ contact: a1, score: NaN }], [{ contact: a1, score: '1' }],
      [{ contact: a1, score: 1, extra: true }], [{ contact: { ...a1, extra: 1 }, score: 1 }],
      wire({ contact: contactOf(alice, 'Future', NOW + 3_600_000), score: 1 }), // dated ahead of `now`
      Array.from({ length: 51 }, () => ({ contact: a1, score: 1 })) // more than any limit
    ]
    const { results, ignoredCafes } = await mergeAnswers('bob', [
      ...bad.map((results, i) => ({ cafe: `bad${i}`, results })),
      { cafe: 'good', results: wire({ contact: b, score: 1 }) }
    ], 10, NOW)
    expect(ignoredCafes).toEqual(bad.map((_, i) => `bad${i}`))
    expect(results.map(r => [r.contact, r.cafes])).toEqual([[b, ['good']]])
  })

  it('accepts an empty answer', async () => {
    expect(await mergeAnswers('bob', [{ cafe: 'quiet', results: [] }], 10, NOW)).toEqual({ results: [], ignoredCafes: [] })
  })

  it("ranks by this device's own score over the verified contacts, then name, and keeps at most limit", async () => {
    const alana = contactOf(accountFromMnemonic(newMnemonic()), 'Alana')
    const smith = contactOf(accountFromMnemonic(newMnemonic()), 'Alan Smith')
    // Each cafe claims the reverse of what its contact deserves.
    const answers = [
      { cafe: 'x', results: wire({ contact: alana, score: 50 }, { contact: smith, score: 40 }) },
      { cafe: 'y', results: wire({ contact: al, score: 1 }) }
    ]
    const ranked = (await mergeAnswers('alan', answers, 10, NOW)).results
    // The exact one-word name first, the exact word in a longer name next, the prefix last.
    expect(ranked.map(r => r.contact.name)).toEqual(['Alan', 'Alan Smith', 'Alana'])
    expect(ranked.map(r => r.score)).toEqual([...ranked.map(r => r.score)].sort((p, q) => q - p))
    expect(ranked.every(r => r.score > 0 && r.score < 40)).toBe(true)
    expect((await mergeAnswers('alan', answers, 2, NOW)).results.map(r => r.contact.name)).toEqual(['Alan', 'Alan Smith'])
    expect((await mergeAnswers('alan', answers, 0, NOW)).results).toEqual([])
    // Equal scores: by name, then address.
    const twins = [contactOf(accountFromMnemonic(newMnemonic()), 'Bob'), contactOf(accountFromMnemonic(newMnemonic()), 'Bob')]
    const tied = (await mergeAnswers('bob', [{ cafe: 'x', results: wire(...twins.map(t => ({ contact: t, score: 1 }))) }], 10, NOW)).results
    expect(tied.map(r => r.contact.address)).toEqual(twins.map(t => t.address).sort())
  })

  it('a sybil cafe claiming huge scores cannot outrank a real result, nor add contacts that do not match [issue 24]', async () => {
    // Validly signed contacts of accounts the sybil minted: one close to the query, junk, and a
    // name spelled far off; every one claimed at the top.
    const sybil = [contactOf(accountFromMnemonic(newMnemonic()), 'Alice Sybil'), contactOf(accountFromMnemonic(newMnemonic()), 'Zed'), contactOf(accountFromMnemonic(newMnemonic()), 'Malice Aforethought Inc')]
    const { results } = await mergeAnswers('alice', [
      { cafe: 'sybil', results: wire(...sybil.map(contact => ({ contact, score: 1e300 }))) },
      { cafe: 'real', results: wire({ contact: a1, score: 0.5 }) }
    ], 10, NOW)
    // Before: the sybil's three first (claimed 1e300), the real Alice last.
    expect(results[0].contact).toEqual(a1)
    expect(results.map(r => r.contact.name)).not.toContain('Zed')
    expect(results.every(r => r.score < 1e3)).toBe(true)
  })
})

describe('merging answers as they arrive', () => {
  it('reports what each answer newly shows, and what it updates: matching contacts only', async () => {
    const merger = new AnswerMerger({ query: 'alice', now: () => NOW })
    expect(await merger.add('x', wire({ contact: a1, score: 1 }, { contact: b, score: 1 }))).toEqual({ added: [a1], updated: [], ignored: false })
    expect(await merger.add('y', wire({ contact: b, score: 2 }, { contact: a2, score: 1 }, { contact: c, score: 1 }))).toEqual({ added: [], updated: [a2], ignored: false })
    expect(await merger.add('z', wire({ contact: a1, score: 1 }))).toEqual({ added: [], updated: [], ignored: false })
    expect(merger.results(10).map(r => [r.contact.name, r.cafes])).toEqual([['Alice Walker', ['x', 'y', 'z']]])
  })

  it('shows a contact as added when a newer version of it first matches', async () => {
    const merger = new AnswerMerger({ query: 'walker', now: () => NOW })
    expect(await merger.add('x', wire({ contact: a1, score: 1 }))).toEqual({ added: [], updated: [], ignored: false })
    expect(await merger.add('y', wire({ contact: a2, score: 1 }))).toEqual({ added: [a2], updated: [], ignored: false })
    expect(merger.results(10).map(r => [r.contact, r.cafes])).toEqual([[a2, ['x', 'y']]])
  })

  it('counts a contact twice in one answer once, as added in its newest version', async () => {
    const merger = new AnswerMerger({ query: 'alice', now: () => NOW })
    expect(await merger.add('x', wire({ contact: a1, score: 1 }, { contact: a2, score: 3 }))).toEqual({ added: [a2], updated: [], ignored: false })
    expect(merger.results(10).map(r => [r.contact, r.cafes])).toEqual([[a2, ['x']]])
  })

  it('ignores a bad answer and a second answer from the same cafe', async () => {
    const merger = new AnswerMerger({ query: 'bob', now: () => NOW })
    expect(await merger.add('liar', wire({ contact: { ...a1, name: 'Eve' }, score: 1 }))).toEqual({ added: [], updated: [], ignored: true })
    expect(await merger.add('liar', wire({ contact: b, score: 1 }))).toMatchObject({ ignored: true })
    expect(await merger.add('x', wire({ contact: b, score: 1 }))).toMatchObject({ added: [b], ignored: false })
    expect(await merger.add('x', wire({ contact: c, score: 1 }))).toMatchObject({ added: [], ignored: true })
    expect(merger.results(10).map(r => r.contact)).toEqual([b])
    expect(merger.ignoredCafes).toEqual(['liar'])
  })

  it('hands out copies: changing results does not change the merger', async () => {
    const merger = new AnswerMerger({ query: 'bob', now: () => NOW })
    await merger.add('x', wire({ contact: b, score: 1 }))
    merger.results(10)[0].cafes.push('mallory')
    expect(merger.results(10)[0].cafes).toEqual(['x'])
  })

  it('checks signatures by WebCrypto in add: the same contacts kept, the same forgeries dropped whole', async () => {
    const merger = new AnswerMerger({ query: 'alice', now: () => NOW })
    const forged = { ...b, name: 'Bob (really Mallory)' }
    // Both answers under way at once, as a search's are.
    const [liar, honest] = await Promise.all([
      merger.add('liar', wire({ contact: c, score: 100 }, { contact: forged, score: 1 })),
      merger.add('honest', wire({ contact: a1, score: 1 }, { contact: a2, score: 2 }))
    ])
    expect(liar).toEqual({ added: [], updated: [], ignored: true })
    expect(honest).toEqual({ added: [a2], updated: [], ignored: false })
    expect(await merger.add('odd', wire({ contact: { ...a1, extra: 1 }, score: 1 }))).toMatchObject({ ignored: true })
    expect(merger.results(10).map(r => [r.contact, r.cafes])).toEqual([[a2, ['honest']]])
    expect(merger.ignoredCafes).toEqual(['liar', 'odd'])
  })

  it('counts a cafe as answered as soon as add starts: a second answer while the first is checked is ignored', async () => {
    const merger = new AnswerMerger({ query: 'bob', now: () => NOW })
    const first = merger.add('x', wire({ contact: b, score: 1 }))
    expect(await merger.add('x', wire({ contact: c, score: 1 }))).toMatchObject({ added: [], ignored: true })
    expect(await first).toMatchObject({ added: [b], ignored: false })
    expect(merger.results(10).map(r => r.contact)).toEqual([b])
  })
})
