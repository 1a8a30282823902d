import { describe, expect, it } from 'vitest'
import { RateLimitedError } from './errors.ts'
import { DEFAULT_MAX_KEYS, RateLimiter } from './rate-limit.ts'

/** A clock the test moves by hand. */
function clock (start = 1_000_000): { now: () => number, advance: (ms: number) => void, set: (ms: number) => void } {
  let t = start
  return { now: () => t, advance: (ms) => { t += ms }, set: (ms) => { t = ms } }
}

describe('RateLimiter', () => {
  it('allows a burst of capacity, then refuses with the time to wait', () => {
    const c = clock()
    const limiter = new RateLimiter({ capacity: 3, refillPerSecond: 1, now: c.now })
    expect([1, 2, 3].map(() => limiter.take('alice').ok)).toEqual([true, true, true])
    expect(limiter.take('alice')).toEqual({ ok: false, remaining: 0, retryAfterMs: 1000 })
  })

  it('refills at the given rate, never past capacity', () => {
    const c = clock()
    const limiter = new RateLimiter({ capacity: 2, refillPerSecond: 4, now: c.now })
    limiter.take('k', 2)
    c.advance(249)
    expect(limiter.take('k').ok).toBe(false)
    c.advance(1)
    expect(limiter.take('k')).toMatchObject({ ok: true })
    c.advance(60_000)
    expect(limiter.take('k')).toMatchObject({ ok: true, remaining: 1 })
    expect(limiter.take('k')).toMatchObject({ ok: true, remaining: 0 })
    expect(limiter.take('k').ok).toBe(false)
  })

  it('is enough to wait exactly retryAfterMs, at awkward rates too', () => {
    // 1000/77: ceil(1 / (rate / 1000)) = 77 ms, yet 77 * (rate / 1000) rounds to just below 1 token.
    for (const rate of [3, 7, 0.3, 1 / 3, 1000, 1000 / 77]) {
      const c = clock()
      const limiter = new RateLimiter({ capacity: 5, refillPerSecond: rate, now: c.now })
      limiter.take('k', 5)
      for (let i = 0; i < 20; i++) {
        const refused = limiter.take('k', 1 + (i % 3))
        expect(refused.ok, `rate ${rate}, step ${i}`).toBe(false)
        c.advance(refused.retryAfterMs)
        expect(limiter.take('k', 1 + (i % 3)).ok, `rate ${rate}, step ${i}`).toBe(true)
      }
    }
  })

  it('takes nothing when refusing', () => {
    const c = clock()
    const limiter = new RateLimiter({ capacity: 4, refillPerSecond: 1, now: c.now })
    limiter.take('k', 3)
    expect(limiter.take('k', 2).ok).toBe(false)
    expect(limiter.take('k', 1)).toMatchObject({ ok: true, remaining: 0 })
  })

  it('keeps keys apart', () => {
    const c = clock()
    const limiter = new RateLimiter({ capacity: 1, refillPerSecond: 0, now: c.now })
    expect(limiter.take('alice').ok).toBe(true)
    expect(limiter.take('alice')).toEqual({ ok: false, remaining: 0, retryAfterMs: Infinity })
    expect(limiter.take('bob').ok).toBe(true)
  })

  it('grants nothing for a clock that steps back, and does not count the time twice', () => {
    const c = clock(10_000)
    const limiter = new RateLimiter({ capacity: 2, refillPerSecond: 1, now: c.now })
    limiter.take('k', 2)
    c.set(5_000)
    expect(limiter.take('k').ok).toBe(false)
    c.set(10_999)
    expect(limiter.take('k').ok).toBe(false)
    c.set(11_000)
    expect(limiter.take('k')).toMatchObject({ ok: true, remaining: 0 })
  })

  it('forgets the least recently used key when full', () => {
    const c = clock()
    const limiter = new RateLimiter({ capacity: 1, refillPerSecond: 0, maxKeys: 2, now: c.now })
    limiter.take('a')
    limiter.take('b')
    limiter.take('a') // a is now the most recently used
    limiter.take('c') // evicts b
    expect(limiter.size).toBe(2)
    expect(limiter.take('a').ok).toBe(false) // still tracked, still empty
    expect(limiter.take('c').ok).toBe(false)
    expect(limiter.take('b').ok).toBe(true) // forgotten, so a fresh bucket (and a evicted in turn)
    expect(limiter.size).toBe(2)
  })

  it('stays bounded under many keys', () => {
    const c = clock()
    const limiter = new RateLimiter({ capacity: 1, refillPerSecond: 1, now: c.now })
    for (let i = 0; i < DEFAULT_MAX_KEYS + 500; i++) limiter.take(`peer${i}`)
    expect(limiter.size).toBe(DEFAULT_MAX_KEYS)
  })

  it('consume throws RateLimitedError (429) when refused', () => {
    const c = clock()
    const limiter = new RateLimiter({ capacity: 1, refillPerSecond: 0.5, now: c.now })
    limiter.consume('k')
    expect(() => limiter.consume('k')).toThrow(RateLimitedError)
    expect(() => limiter.consume('k')).toThrow(expect.objectContaining({ reason: 'RATE_LIMITED', status: 429, message: expect.stringMatching(/retry in 2 s/) }))
  })

  it('refuses nonsense settings and costs', () => {
    const now = (): number => 0
    expect(() => new RateLimiter({ capacity: 0, refillPerSecond: 1, now })).toThrow(RangeError)
    expect(() => new RateLimiter({ capacity: 1, refillPerSecond: -1, now })).toThrow(RangeError)
    expect(() => new RateLimiter({ capacity: 1, refillPerSecond: Number.NaN, now })).toThrow(RangeError)
    expect(() => new RateLimiter({ capacity: 1, refillPerSecond: 1, maxKeys: 0, now })).toThrow(RangeError)
    const limiter = new RateLimiter({ capacity: 2, refillPerSecond: 1, now })
    for (const cost of [0, -1, 3, Number.NaN]) expect(() => limiter.take('k', cost)).toThrow(RangeError)
  })
})
