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

describe('merging search answers from several cafes', () => {
  it('lists a contact returned by several cafes once, with its best score and every cafe', async () => {
    const { results, ignoredCafes } = await mergeAnswers([
      { cafe: 'cafe1', results: wire({ contact: a1, score: 3 }, { contact: b, score: 1 }) },
      { cafe: 'cafe2', results: wire({ contact: a1, score: 5 }) }
    ], 10, NOW)
    expect(ignoredCafes).toEqual([])
    expect(results).toEqual([
      { contact: a1, score: 5, cafes: ['cafe1', 'cafe2'] },
      { contact: b, score: 1, cafes: ['cafe1'] }
    ])
  })

  it('keeps the newest version of a contact, whichever cafe returned it and in any order', async () => {
    for (const order of [[a1, a2], [a2, a1]]) {
      const { results } = await mergeAnswers([
        { cafe: 'x', results: wire({ contact: order[0], score: 9 }) },
        { cafe: 'y', results: wire({ contact: order[1], score: 2 }) }
      ], 10, NOW)
      expect(results).toEqual([{ contact: a2, score: 9, cafes: ['x', 'y'] }])
    }
  })

  it('drops every result of a cafe that returned one forged contact', async () => {
    const forged = { ...b, name: 'Bob (really Mallory)' }
    const { results, ignoredCafes } = await mergeAnswers([
      { cafe: 'honest', results: wire({ contact: a1, score: 1 }) },
      { cafe: 'liar', results: wire({ contact: c, score: 100 }, { contact: a2, score: 100 }, { contact: forged, score: 1 }) }
    ], 10, NOW)
    expect(ignoredCafes).toEqual(['liar'])
    // Not even the genuine Carol, nor the genuine newer Alice, from the liar.
    expect(results).toEqual([{ contact: a1, score: 1, cafes: ['honest'] }])
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
    const { results, ignoredCafes } = await mergeAnswers([
      ...bad.map((results, i) => ({ cafe: `bad${i}`, results })),
      { cafe: 'good', results: wire({ contact: b, score: 1 }) }
    ], 10, NOW)
    expect(ignoredCafes).toEqual(bad.map((_, i) => `bad${i}`))
    expect(results).toEqual([{ contact: b, score: 1, cafes: ['good'] }])
  })

  it('accepts an empty answer', async () => {
    expect(await mergeAnswers([{ cafe: 'quiet', results: [] }], 10, NOW)).toEqual({ results: [], ignoredCafes: [] })
  })

  it('ranks by score, then name, and keeps at most limit', async () => {
    const answers = [
      { cafe: 'x', results: wire({ contact: c, score: 2 }, { contact: b, score: 2 }) },
      { cafe: 'y', results: wire({ contact: a1, score: 7 }) }
    ]
    expect((await mergeAnswers(answers, 10, NOW)).results.map(r => r.contact.name)).toEqual(['Alice', 'Bob', 'Carol'])
    expect((await mergeAnswers(answers, 2, NOW)).results.map(r => r.contact.name)).toEqual(['Alice', 'Bob'])
    expect((await mergeAnswers(answers, 0, NOW)).results).toEqual([])
  })
})

describe('merging answers as they arrive', () => {
  it('reports what each answer newly shows, and what it updates', async () => {
    const merger = new AnswerMerger(() => NOW)
    expect(await merger.add('x', wire({ contact: a1, score: 1 }, { contact: b, score: 1 }))).toEqual({ added: [a1, b], updated: [], ignored: false })
    expect(await merger.add('y', wire({ contact: b, score: 2 }, { contact: a2, score: 1 }, { contact: c, score: 1 }))).toEqual({ added: [c], updated: [a2], ignored: false })
    expect(await merger.add('z', wire({ contact: a1, score: 1 }))).toEqual({ added: [], updated: [], ignored: false })
    expect(merger.results(10).map(r => [r.contact.name, r.score, r.cafes])).toEqual([
      ['Bob', 2, ['x', 'y']],
      ['Alice Walker', 1, ['x', 'y', 'z']],
      ['Carol', 1, ['y']]
    ])
  })

  it('counts a contact twice in one answer once, as added in its newest version', async () => {
    const merger = new AnswerMerger(() => NOW)
    expect(await merger.add('x', wire({ contact: a1, score: 1 }, { contact: a2, score: 3 }))).toEqual({ added: [a2], updated: [], ignored: false })
    expect(merger.results(10)).toEqual([{ contact: a2, score: 3, cafes: ['x'] }])
  })

  it('ignores a bad answer and a second answer from the same cafe', async () => {
    const merger = new AnswerMerger(() => NOW)
    expect(await merger.add('liar', wire({ contact: { ...a1, name: 'Eve' }, score: 1 }))).toEqual({ added: [], updated: [], ignored: true })
    expect(await merger.add('liar', wire({ contact: b, score: 1 }))).toMatchObject({ ignored: true })
    expect(await merger.add('x', wire({ contact: b, score: 1 }))).toMatchObject({ added: [b], ignored: false })
    expect(await merger.add('x', wire({ contact: c, score: 1 }))).toMatchObject({ added: [], ignored: true })
    expect(merger.results(10).map(r => r.contact)).toEqual([b])
    expect(merger.ignoredCafes).toEqual(['liar'])
  })

  it('hands out copies: changing results does not change the merger', async () => {
    const merger = new AnswerMerger(() => NOW)
    await merger.add('x', wire({ contact: b, score: 1 }))
    merger.results(10)[0].cafes.push('mallory')
    expect(merger.results(10)[0].cafes).toEqual(['x'])
  })

  it('checks signatures by WebCrypto in add: the same contacts kept, the same forgeries dropped whole', async () => {
    const merger = new AnswerMerger(() => NOW)
    const forged = { ...b, name: 'Bob (really Mallory)' }
    // Both answers under way at once, as a search's are.
    const [liar, honest] = await Promise.all([
      merger.add('liar', wire({ contact: c, score: 100 }, { contact: forged, score: 1 })),
      merger.add('honest', wire({ contact: a1, score: 1 }, { contact: a2, score: 2 }))
    ])
    expect(liar).toEqual({ added: [], updated: [], ignored: true })
    expect(honest).toEqual({ added: [a2], updated: [], ignored: false })
    expect(await merger.add('odd', wire({ contact: { ...a1, extra: 1 }, score: 1 }))).toMatchObject({ ignored: true })
    expect(merger.results(10)).toEqual([{ contact: a2, score: 2, cafes: ['honest'] }])
    expect(merger.ignoredCafes).toEqual(['liar', 'odd'])
  })

  it('counts a cafe as answered as soon as add starts: a second answer while the first is checked is ignored', async () => {
    const merger = new AnswerMerger(() => NOW)
    const first = merger.add('x', wire({ contact: b, score: 1 }))
    expect(await merger.add('x', wire({ contact: c, score: 1 }))).toMatchObject({ added: [], ignored: true })
    expect(await first).toMatchObject({ added: [b], ignored: false })
    expect(merger.results(10).map(r => r.contact)).toEqual([b])
  })
})
