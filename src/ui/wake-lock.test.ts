import { describe, expect, it } from 'vitest'
import { TAP_TO_KEEP_AWAKE, keepAwake } from './wake-lock.ts'

// The screen wake lock as WebKit grants it: only while a user gesture is being handled
// (transient activation); a request at any other time is refused with NotAllowedError.

class GestureOnlyWakeLock {
  activation = false
  requests = 0
  async request (): Promise<WakeLockSentinel> {
    this.requests++
    if (!this.activation) throw new DOMException('Permission was denied', 'NotAllowedError')
    const sentinel = new EventTarget() as WakeLockSentinel & { released: boolean }
    Object.assign(sentinel, { released: false, type: 'screen', release: async () => { sentinel.released = true } })
    return sentinel
  }
}

const settle = async (): Promise<void> => { for (let i = 0; i < 10; i++) await Promise.resolve() }

function page (): { events: EventTarget, tap: (lock: GestureOnlyWakeLock, type?: string) => void } {
  const events = new EventTarget()
  return {
    events,
    // The browser's activation lasts while the gesture's handlers run.
    tap: (lock, type = 'pointerup') => { lock.activation = true; events.dispatchEvent(new Event(type)); lock.activation = false }
  }
}

describe('keepAwake', () => {
  it('refused without a gesture: says "tap to keep the screen on", and the next tap takes the lock', async () => {
    const wakeLock = new GestureOnlyWakeLock()
    const { events, tap } = page()
    const states: string[] = []
    keepAwake(async () => true, s => { states.push(s) }, { wakeLock: wakeLock as unknown as WakeLock, events, visible: () => true })
    await settle()
    expect(states).toEqual([TAP_TO_KEEP_AWAKE])
    tap(wakeLock)
    await settle()
    expect(states).toEqual([TAP_TO_KEEP_AWAKE, 'screen kept on'])
    // Taken: later taps ask nothing more.
    tap(wakeLock, 'keydown')
    await settle()
    expect(wakeLock.requests).toBe(2)
  })

  it('a tap while the device is no cafe asks nothing', async () => {
    const wakeLock = new GestureOnlyWakeLock()
    const { events, tap } = page()
    const states: string[] = []
    keepAwake(async () => false, s => { states.push(s) }, { wakeLock: wakeLock as unknown as WakeLock, events, visible: () => true })
    await settle()
    tap(wakeLock)
    await settle()
    expect(states).toEqual(['off (not a cafe)'])
    expect(wakeLock.requests).toBe(0)
  })

  it('other refusals are named; no wake lock at all is said so', async () => {
    const failing = { request: async () => { throw new DOMException('the document is hidden', 'AbortError') } }
    const states: string[] = []
    keepAwake(async () => true, s => { states.push(s) }, { wakeLock: failing as unknown as WakeLock, events: new EventTarget(), visible: () => true })
    await settle()
    expect(states).toEqual(['refused: the document is hidden'])
    const none: string[] = []
    keepAwake(async () => true, s => { none.push(s) }, { events: new EventTarget(), visible: () => true })
    await settle()
    expect(none).toEqual(['not supported by this browser'])
  })
})
