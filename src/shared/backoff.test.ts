import { describe, expect, it } from 'vitest'
import { backoff } from './backoff.ts'

describe('backoff', () => {
  it('doubles from firstMs up to maxMs', () => {
    expect([0, 1, 2, 3, 4, 5, 10].map(n => backoff(n, { firstMs: 500, maxMs: 15_000 }))).toEqual([500, 1000, 2000, 4000, 8000, 15_000, 15_000])
  })

  it('takes another factor, no cap, and treats a negative attempt as the first', () => {
    expect([0, 1, 2].map(n => backoff(n, { firstMs: 100, factor: 3 }))).toEqual([100, 300, 900])
    expect(backoff(40, { firstMs: 1 })).toBe(2 ** 40)
    expect(backoff(-1, { firstMs: 250 })).toBe(250)
  })
})
