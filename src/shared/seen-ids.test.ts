import { describe, expect, it } from 'vitest'
import { SeenIds } from './seen-ids.ts'

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
    const seen = new SeenIds(10_000)
    for (let i = 0; i < 10_000 * 2; i++) seen.add(`k${i}`)
    expect(seen.size).toBe(10_000)
    expect(seen.has('k0')).toBe(false)
    expect(seen.has(`k${10_000 * 2 - 1}`)).toBe(true)
  })

  it('refuses a size that is not a positive integer', () => {
    for (const max of [0, -1, 1.5, Number.NaN]) expect(() => new SeenIds(max)).toThrow(RangeError)
  })
})
