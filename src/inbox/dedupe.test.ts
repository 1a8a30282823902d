import { describe, expect, it } from 'vitest'
import { SeenIds } from '../shared/seen-ids.ts'
import { DEDUPE_LIMITS, envelopeKey, selectNew } from './dedupe.ts'

const env = (from: string, id: string): { from: string, id: string } => ({ from, id })

describe('selectNew', () => {
  it('passes each envelope once, across and within batches, in order', () => {
    const seen = new SeenIds(DEDUPE_LIMITS.maxIds)
    const a = env('alice', 'a1')
    const b = env('alice', 'b1')
    expect(selectNew(seen, [a, b, { ...a }])).toEqual([a, b])
    expect(selectNew(seen, [b, env('alice', 'c1'), a])).toEqual([env('alice', 'c1')])
    expect(selectNew(seen, [])).toEqual([])
    expect(seen.size).toBe(3)
  })

  it('keys on sender and id, so one sender cannot shadow another\'s message', () => {
    const seen = new SeenIds(DEDUPE_LIMITS.maxIds)
    selectNew(seen, [env('mallory', 'same')])
    expect(selectNew(seen, [env('alice', 'same')])).toEqual([env('alice', 'same')])
    expect(envelopeKey(env('alice', 'x'))).not.toBe(envelopeKey(env('mallory', 'x')))
  })

  it('lets an envelope in again once forgotten on purpose', () => {
    const seen = new SeenIds(DEDUPE_LIMITS.maxIds)
    const a = env('alice', 'a1')
    selectNew(seen, [a])
    expect(seen.delete(envelopeKey(a))).toBe(true)
    expect(selectNew(seen, [a])).toEqual([a])
  })
})
