import { describe, expect, it } from 'vitest'
import { warmCafes } from './search.ts'

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
