import { describe, expect, it } from 'vitest'
import { accountFromMnemonic, newMnemonic } from '../account/index.ts'
import { boxKeyPair } from '../account/box.ts'
import { signContact } from '../contacts/contact.ts'
import { SEARCH_LIMITS } from '../search/query.ts'
import { CafeMemory, SEARCH_SAMPLE, pickCafes } from '../search/sample.ts'
import { toBase64url } from '../shared/bytes.ts'
import { searchContacts, warmCafes } from './search.ts'
import type { SearchTargets } from './search.ts'
import type { Contact } from '../contacts/contact.ts'

const alice = accountFromMnemonic(newMnemonic())

describe('warmCafes', () => {
  it('dials every cafe a search would ask, all at once, but not itself', async () => {
    const started: string[] = []
    let inFlight = 0
    let most = 0
    const out = await warmCafes({
      cafes: async () => ['me', 'a', 'b', 'c'],
      self: 'me',
      dial: async (cafe) => {
        started.push(cafe)
        most = Math.max(most, ++inFlight)
        await new Promise(resolve => setTimeout(resolve, 20))
        inFlight--
        if (cafe === 'b') throw new Error('unreachable')
      }
    })
    expect(started.sort()).toEqual(['a', 'b', 'c'])
    expect(most).toBe(3)
    expect(out).toEqual({ cafes: 3, reached: 2 })
  })

  it('gives up on dials at its deadline', async () => {
    const t = Date.now()
    const out = await warmCafes({
      cafes: async () => ['slow'],
      self: 'me',
      dial: async (_cafe, { signal }) => new Promise((_resolve, reject) => { signal?.addEventListener('abort', () => { reject(signal.reason) }) })
    }, 50)
    expect(out).toEqual({ cafes: 1, reached: 0 })
    expect(Date.now() - t).toBeLessThan(2_000)
  })

  it('answers nothing when the directory cannot be read', async () => {
    expect(await warmCafes({ cafes: async () => { throw new Error('no relay') }, self: 'me', dial: async () => {} })).toEqual({ cafes: 0, reached: 0 })
  })
})

describe('a search against a full directory [issue 24]', () => {
  const ids = (n: number, tag: string): string[] => Array.from({ length: n }, (_, i) => `${tag}${i}`)

  it('asks a bounded sample: own cafes always, the rest spread over the relays, and the warm-up dials the same ones', async () => {
    const memory = new CafeMemory()
    const asked: string[] = []
    const cafes = async (): Promise<SearchTargets> => ({ own: ['mine'], lists: [ids(1000, 'sybil'), ['real1', 'real2', 'real3']] })
    const dialled: string[] = []
    await warmCafes({ cafes, memory, self: 'me', dial: async c => { dialled.push(c) } })
    const out = await searchContacts({ cafes, memory, self: 'me', ask: async (cafe) => { asked.push(cafe); return { results: [], forwarded: [] } } }, { name: 'alice', wait: 1000 })
    // Before: all 1,003 asked (and each could pass it on to 8 more: ~9,000 requests for one search).
    expect(asked.length).toBeLessThanOrEqual(SEARCH_SAMPLE.maxAsked)
    expect(out.asked).toBe(asked.length)
    expect(asked).toContain('mine')
    // The short relay list is not drowned by the long one: a turn each.
    for (const r of ['real1', 'real2', 'real3']) expect(asked).toContain(r)
    expect(new Set(dialled)).toEqual(new Set(asked))
  })

  it('draws half its random picks from the whole list: sybils that listed themselves first do not take every place [issue 24]', async () => {
    // 64 patient sybils hold a relay's longest-listed places; 936 real cafes listed after them.
    const list = [...ids(64, 'sybil'), ...ids(936, 'real')]
    for (let seed = 1; seed <= 20; seed++) {
      let a = seed
      const random = (): number => { a = (a * 48271) % 2147483647; return a / 2147483647 }
      const picked = pickCafes({ own: [], lists: [list], self: 'me', random })
      expect(picked).toHaveLength(SEARCH_SAMPLE.maxAsked)
      // Before: all 16 from the first 64, so all sybils. Now half are drawn from all 1,000.
      expect(picked.filter(c => c.startsWith('real')).length, `seed ${seed}`).toBeGreaterThanOrEqual(4)
    }
  })

  it('prefers cafes that answered with results before, and drops one that answered with a forgery', async () => {
    const memory = new CafeMemory()
    const contact = signContact(alice, { name: 'Alice', peers: [], inboxes: [], box: toBase64url(boxKeyPair(alice.secretKey).publicKey) })
    const forged = { ...contact, name: 'Mallory' }
    const lists = [ids(400, 'x'), ['good', 'liar']]
    const answer = (cafe: string): unknown => cafe === 'good'
      ? { results: [{ contact, score: 1 }], forwarded: [] }
      : cafe === 'liar' ? { results: [{ contact: forged, score: 1 }], forwarded: [] } : { results: [], forwarded: [] }
    const first = await searchContacts({ cafes: async () => ({ own: [], lists }), memory, self: 'me', ask: async c => answer(c) }, { name: 'alice', wait: 1000 })
    expect(first.results.map(r => r.contact.address)).toEqual([alice.address])
    const again: string[] = []
    // Later (another minute's random picks), the good one is asked first of all, the liar never.
    for (let i = 0; i < 5; i++) {
      await searchContacts({ cafes: async () => ({ own: [], lists: [ids(400, `y${i}-`), ['good', 'liar']] }), memory, self: 'me', ask: async c => { again.push(c); return answer(c) } }, { name: 'alice', wait: 1000 })
    }
    expect(again.filter(c => c === 'good')).toHaveLength(5)
    expect(again).not.toContain('liar')
  })
})

describe('verification within a budget [issue 24]', () => {
  it("finds the real cafe's contact under twelve sybil answers of ~2,900 signed contacts each, verifying at most its budget", async () => {
    const pool = Array.from({ length: 50 }, (_, i) => { const a = accountFromMnemonic(newMnemonic()); return { contact: signContact(a, { name: `Alice ${i}`, peers: [], inboxes: [], box: toBase64url(boxKeyPair(a.secretKey).publicKey) }), score: 9 } })
    const real = signContact(alice, { name: 'Alice', peers: [], inboxes: [], box: toBase64url(boxKeyPair(alice.secretKey).publicKey) })
    const sybils = Array.from({ length: 12 }, (_, i) => `sybil${i}`)
    // 50 of its own and 57 answers "passed on" of 50 each: 2,900 contacts, every one validly signed.
    const sybilAnswer = (i: number): unknown => JSON.parse(JSON.stringify({ results: pool, forwarded: Array.from({ length: 57 }, (_, j) => ({ cafe: `made-up-${i}-${j}`, results: pool })) }))
    let releaseReal!: () => void
    const realLast = new Promise<void>(resolve => { releaseReal = resolve })
    const sybilsSent = { n: 0 }
    const fromReal: Contact[] = []
    const out = await searchContacts({
      cafes: async () => ({ own: [], lists: [[...sybils, 'real']] }),
      self: 'me',
      ask: async (cafe) => {
        if (cafe === 'real') { await realLast; return { results: [{ contact: real, score: 1 }], forwarded: [] } }
        if (++sybilsSent.n === sybils.length) setTimeout(releaseReal, 0)
        return sybilAnswer(Number(cafe.slice(5)))
      }
    }, { name: 'alice', limit: 50, wait: 10_000 }, u => { if (u.cafe === 'real') fromReal.push(...u.added) })
    expect(out.answered).toContain('real')
    // Shown as it came (the merged top 50 ranks by the scores cafes claim, and the fakes claim more).
    expect(fromReal.map(c => c.address)).toEqual([alice.address])
    // Before: 34,800 contacts checked, and the real answer queued behind them past a 2 s deadline.
    expect(out.verified).toBeLessThanOrEqual(SEARCH_LIMITS.maxVerifiedDirect + SEARCH_LIMITS.maxVerifiedForwarded)
    expect(out.skipped).toBeGreaterThan(0)
  }, 60_000)
})
