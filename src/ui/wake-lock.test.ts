import { describe, expect, it } from 'vitest'
import { TAP_TO_KEEP_AWAKE, keepAwake } from './wake-lock.ts'

// The screen wake lock as WebKit grants it: only while a user gesture is being handled
// (transient activation); a request at any other time is refused with NotAllowedError.

class GestureOnlyWakeLock {
  activation = false
  requests = 0
  /** Every lock granted, released or not: a page should hold at most one. */
  granted: Array<WakeLockSentinel & { released: boolean }> = []
  async request (): Promise<WakeLockSentinel> {
    this.requests++
    if (!this.activation) throw new DOMException('Permission was denied', 'NotAllowedError')
    const sentinel = new EventTarget() as WakeLockSentinel & { released: boolean }
    Object.assign(sentinel, { released: false, type: 'screen', release: async () => { sentinel.released = true } })
    this.granted.push(sentinel)
    return sentinel
  }

  held (): number { return this.granted.filter(s => !s.released).length }
}

const settle = async (): Promise<void> => { for (let i = 0; i < 10; i++) await Promise.resolve() }

function page (): { events: EventTarget, tap: (lock: GestureOnlyWakeLock, ...types: string[]) => void } {
  const events = new EventTarget()
  return {
    events,
    // The browser's activation lasts while the gesture's handlers run; one tap on a touch screen
    // fires pointerup, touchend and click, one after the other, before any promise settles.
    tap: (lock, ...types) => {
      lock.activation = true
      for (const type of types.length > 0 ? types : ['pointerup']) events.dispatchEvent(new Event(type))
      lock.activation = false
    }
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

  it('one tap (pointerup, touchend, click) takes one lock, and cafe mode off releases it', async () => {
    const wakeLock = new GestureOnlyWakeLock()
    const { events, tap } = page()
    const states: string[] = []
    let cafe = true
    const retake = keepAwake(async () => cafe, s => { states.push(s) }, { wakeLock: wakeLock as unknown as WakeLock, events, visible: () => true })
    await settle()
    tap(wakeLock, 'pointerup', 'touchend', 'click')
    await settle()
    expect(wakeLock.granted).toHaveLength(1)
    expect(wakeLock.held()).toBe(1)
    expect(states).toEqual([TAP_TO_KEEP_AWAKE, 'screen kept on'])
    cafe = false
    retake()
    await settle()
    expect(wakeLock.held()).toBe(0)
  })

  it('a tap the browser still refuses leaves the next tap to ask again', async () => {
    const wakeLock = new GestureOnlyWakeLock()
    const { events, tap } = page()
    const states: string[] = []
    keepAwake(async () => true, s => { states.push(s) }, { wakeLock: wakeLock as unknown as WakeLock, events, visible: () => true })
    await settle()
    // A gesture without activation (say, a synthetic one): refused, and the page listens again.
    events.dispatchEvent(new Event('click'))
    await settle()
    expect(states).toEqual([TAP_TO_KEEP_AWAKE, TAP_TO_KEEP_AWAKE])
    tap(wakeLock, 'keydown')
    await settle()
    expect(states).toEqual([TAP_TO_KEEP_AWAKE, TAP_TO_KEEP_AWAKE, 'screen kept on'])
    expect(wakeLock.held()).toBe(1)
  })

  it('cafe mode turned off while a tap\'s request is in flight: the lock it brings is released', async () => {
    let grant: (s: WakeLockSentinel) => void = () => {}
    const sentinel = Object.assign(new EventTarget(), { released: false, type: 'screen' as const, onrelease: null, release: async () => { sentinel.released = true } })
    let activation = false
    const slow = {
      request: async () => {
        if (!activation) throw new DOMException('Permission was denied', 'NotAllowedError')
        return await new Promise<WakeLockSentinel>(resolve => { grant = resolve })
      }
    }
    const events = new EventTarget()
    let cafe = true
    const states: string[] = []
    const retake = keepAwake(async () => cafe, s => { states.push(s) }, { wakeLock: slow as unknown as WakeLock, events, visible: () => true })
    await settle()
    activation = true
    events.dispatchEvent(new Event('pointerup'))
    activation = false
    cafe = false
    retake()
    await settle()
    expect(states).toEqual([TAP_TO_KEEP_AWAKE, 'off (not a cafe)'])
    grant(sentinel as unknown as WakeLockSentinel)
    await settle()
    expect(sentinel.released).toBe(true)
    expect(states).toEqual([TAP_TO_KEEP_AWAKE, 'off (not a cafe)'])
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
