import { afterEach, describe, expect, it, vi } from 'vitest'
import { Wake } from '../shared/wake.ts'
import { watchNetwork } from './network-watch.ts'
import type { WakeEvent } from '../shared/wake.ts'

describe('what wakes the backoffs', () => {
  afterEach(() => { vi.useRealTimers() })

  it('the browser back online, a new kind of network (not a new speed estimate), and a change of the host\'s addresses', async () => {
    vi.useFakeTimers()
    const wake = new Wake({ now: () => Date.now() })
    const seen: WakeEvent[] = []
    wake.on(e => seen.push(e))
    const page = new EventTarget()
    const connection = Object.assign(new EventTarget(), { type: 'wifi', downlink: 10 })
    let addresses = ['10.0.0.7']
    const stop = watchNetwork(wake, { events: page, connection, addresses: () => addresses, pollMs: 100 })
    page.dispatchEvent(new Event('online'))
    connection.downlink = 2
    connection.dispatchEvent(new Event('change'))
    connection.type = 'cellular'
    connection.dispatchEvent(new Event('change'))
    await vi.advanceTimersByTimeAsync(500)
    expect(seen.map(e => e.reason)).toEqual(['online', 'network'])
    addresses = ['10.0.0.7', '192.168.1.20']
    await vi.advanceTimersByTimeAsync(100)
    expect(seen.map(e => e.reason)).toEqual(['online', 'network', 'addresses'])
    stop()
    page.dispatchEvent(new Event('online'))
    await vi.advanceTimersByTimeAsync(5_000)
    expect(seen).toHaveLength(3)
    wake.stop()
  })
})
