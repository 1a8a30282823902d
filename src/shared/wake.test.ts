import { describe, expect, it, vi } from 'vitest'
import { WAKE_LIMITS, Wake } from './wake.ts'
import type { WakeEvent } from './wake.ts'

describe('the wake signal', () => {
  it('cuts a pending backoff short: `after` fires at the next wake, once, with the reason', async () => {
    const wake = new Wake()
    const fired: Array<WakeEvent | undefined> = []
    wake.after(600_000, e => fired.push(e))
    expect(fired).toEqual([])
    wake.notify('online')
    wake.notify('relay')
    expect(fired).toEqual([{ reason: 'online' }])
    // Without a wake, the timer itself.
    const timed = await new Promise<WakeEvent | undefined>(resolve => { wake.after(5, resolve) })
    expect(timed).toBeUndefined()
    // Cancelled: neither.
    const cancelled = vi.fn()
    wake.after(5, cancelled)()
    wake.notify('addresses')
    await new Promise(resolve => setTimeout(resolve, 20))
    expect(cancelled).not.toHaveBeenCalled()
  })

  it('runs a repeat of the same wake within minGapMs once, at the end of the gap (a flapping source cannot spin every backoff, and no wake is lost)', async () => {
    vi.useFakeTimers()
    try {
      const wake = new Wake({ now: () => Date.now() })
      const seen: WakeEvent[] = []
      wake.on(e => seen.push(e))
      expect(wake.notify('dial')).toBe(true)
      expect(wake.notify('dial')).toBe(false)
      expect(wake.notify('dial')).toBe(false)
      expect(wake.notify('online')).toBe(true)
      expect(seen.map(e => e.reason)).toEqual(['dial', 'online'])
      await vi.advanceTimersByTimeAsync(WAKE_LIMITS.minGapMs)
      expect(seen.map(e => e.reason)).toEqual(['dial', 'online', 'dial'])
      await vi.advanceTimersByTimeAsync(10 * WAKE_LIMITS.minGapMs)
      expect(seen).toHaveLength(3)
      wake.stop()
    } finally {
      vi.useRealTimers()
    }
  })

  it('wakes everyone once when a peer waited for is seen again; other peers and expired waits do not', () => {
    let now = 1_000_000
    const wake = new Wake({ now: () => now })
    const woken: WakeEvent[] = []
    const watched: string[] = []
    wake.on(e => woken.push(e))
    wake.onAwait(p => watched.push(p))
    wake.await('cafe-1')
    wake.await('cafe-1')
    wake.await('bob')
    expect(watched).toEqual(['cafe-1', 'bob'])
    expect(wake.awaited()).toEqual(['cafe-1', 'bob'])
    now += 500
    // A later failure of an attempt that began 200 ms ago: counted from its start.
    wake.await('bob', now - 200)
    expect([wake.awaitedFor('cafe-1'), wake.awaitedFor('bob'), wake.awaitedFor('stranger')]).toEqual([500, 200, undefined])
    expect(watched).toEqual(['cafe-1', 'bob'])
    expect(wake.seen('stranger')).toBe(false)
    expect(wake.seen('cafe-1')).toBe(true)
    expect(wake.seen('cafe-1')).toBe(false)
    expect(woken).toEqual([{ reason: 'peer', peer: 'cafe-1' }])
    now += WAKE_LIMITS.awaitMs
    expect(wake.awaited()).toEqual([])
    expect(wake.seen('bob')).toBe(false)
  })
})
