import { describe, expect, it } from 'vitest'
import { BoundedMap } from './bounded-map.ts'

describe('BoundedMap', () => {
  it('forgets the key set longest ago when a new one passes max, and says which', () => {
    const m = new BoundedMap<string, number>(2)
    expect(m.set('a', 1)).toBeUndefined()
    expect(m.set('b', 2)).toBeUndefined()
    expect(m.full).toBe(true)
    expect(m.set('c', 3)).toBe('a')
    expect([...m.keys()]).toEqual(['b', 'c'])
    expect(m.size).toBe(2)
  })

  it('moves a key set again or touched to the back; get() alone does not', () => {
    const m = new BoundedMap<string, number>(3)
    for (const [k, v] of [['a', 1], ['b', 2], ['c', 3]] as const) m.set(k, v)
    expect(m.get('a')).toBe(1)
    expect(m.set('d', 4)).toBe('a')
    expect(m.touch('b')).toBe(2)
    m.set('c', 30)
    expect([...m.entries()]).toEqual([['d', 4], ['b', 2], ['c', 30]])
    expect(m.touch('nope')).toBeUndefined()
    expect(m.set('e', 5)).toBe('d')
  })

  it('drops from the oldest while a test holds, stopping at the first that fails', () => {
    const m = new BoundedMap<string, number>(10)
    for (const [k, exp] of [['a', 1], ['b', 2], ['c', 9], ['d', 3]] as const) m.set(k, exp)
    expect(m.dropOldestWhile(exp => exp <= 5)).toEqual([['a', 1], ['b', 2]])
    expect([...m.keys()]).toEqual(['c', 'd'])
    expect(m.dropOldestWhile(() => false)).toEqual([])
    expect(m.delete('c')).toBe(true)
    expect(m.has('c')).toBe(false)
  })

  it('stays bounded under a flood', () => {
    const m = new BoundedMap<number, number>(1000)
    for (let i = 0; i < 5000; i++) m.set(i, i)
    expect(m.size).toBe(1000)
    expect([...m.values()][0]).toBe(4000)
  })

  it('refuses a size that is not a positive integer', () => {
    for (const max of [0, -1, 1.5, Number.NaN]) expect(() => new BoundedMap(max)).toThrow(RangeError)
  })
})
