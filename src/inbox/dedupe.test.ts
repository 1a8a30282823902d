import { describe, expect, it } from 'vitest'
import { DEDUPE_LIMITS, SeenIds, envelopeKey, selectNew } from './dedupe.ts'

const env = (from: string, id: string): { from: string, id: string } => ({ from, id })

describe('selectNew', () => {
  it('passes each envelope once, across and within batches, in order', () => {
    const seen = new SeenIds()
    const a = env('alice', 'a1')
    const b = env('alice', 'b1')
    expect(selectNew(seen, [a, b, { ...a }])).toEqual([a, b])
    expect(selectNew(seen, [b, env('alice', 'c1'), a])).toEqual([env('alice', 'c1')])
    expect(selectNew(seen, [])).toEqual([])
    expect(seen.size).toBe(3)
  })

  it('keys on sender and id, so one sender cannot shadow another\'s message', () => {
    const seen = new SeenIds()
    selectNew(seen, [env('mallory', 'same')])
    expect(selectNew(seen, [env('alice', 'same')])).toEqual([env('alice', 'same')])
    expect(envelopeKey(env('alice', 'x'))).not.toBe(envelopeKey(env('mallory', 'x')))
  })

  it('lets an envelope in again once forgotten on purpose', () => {
    const seen = new SeenIds()
    const a = env('alice', 'a1')
    selectNew(seen, [a])
    expect(seen.delete(envelopeKey(a))).toBe(true)
    expect(selectNew(seen, [a])).toEqual([a])
  })
})

describe('SeenIds', () => {
  it('keeps at most max keys, forgetting the one seen longest ago', () => {
    const seen = new SeenIds(3)
    for (const k of ['a', 'b', 'c', 'd']) seen.add(k)
    expect(seen.size).toBe(3)
    expect(['a', 'b', 'c', 'd'].map(k => seen.has(k))).toEqual([false, true, true, true])
  })

  it('counts a repeated sighting as recent', () => {
    const seen = new SeenIds(3)
    for (const k of ['a', 'b', 'c', 'a', 'd']) seen.add(k)
    expect(['a', 'b', 'c', 'd'].map(k => seen.has(k))).toEqual([true, false, true, true])
  })

  it('stays bounded under a flood', () => {
    const seen = new SeenIds()
    for (let i = 0; i < DEDUPE_LIMITS.maxIds * 2; i++) seen.add(`k${i}`)
    expect(seen.size).toBe(DEDUPE_LIMITS.maxIds)
    expect(seen.has('k0')).toBe(false)
    expect(seen.has(`k${DEDUPE_LIMITS.maxIds * 2 - 1}`)).toBe(true)
  })

  it('refuses a size that is not a positive integer', () => {
    for (const max of [0, -1, 1.5, Number.NaN]) expect(() => new SeenIds(max)).toThrow(RangeError)
  })
})
