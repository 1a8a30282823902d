import { describe, expect, it } from 'vitest'
import { isWebKit, storageNote, wakeNote, webkitVersion } from './engine-notes.ts'

describe('WebKit notes', () => {
  it('tell WebKit (Safari, iOS browsers, WebKitGTK) from Chromium and Firefox', () => {
    const webkit = [
      'Mozilla/5.0 (iPhone; CPU iPhone OS 18_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.4 Mobile/15E148 Safari/604.1',
      'Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1',
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15',
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/60.5 Safari/605.1.15'
    ]
    const others = [
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36',
      'Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36',
      'Mozilla/5.0 (X11; Linux x86_64; rv:153.0) Gecko/20100101 Firefox/153.0'
    ]
    expect(webkit.map(isWebKit)).toEqual(webkit.map(() => true))
    expect(others.map(isWebKit)).toEqual(others.map(() => false))
    expect(webkit.map(webkitVersion)).toEqual([[18, 4], [17, 0], [17, 2], [60, 5]])
  })

  it('say the 7-day deletion in WebKit until the app runs from the Home Screen, and nothing elsewhere', () => {
    expect(storageNote(true, false)).toMatch(/7 days without a visit.*Home Screen/)
    expect(storageNote(true, true)).toBeUndefined()
    expect(storageNote(false, false)).toBeUndefined()
  })

  it('say what keeps the screen on where WebKit cannot', () => {
    expect(wakeNote(true, true, false)).toMatch(/iOS 18\.4/)
    // From the Home Screen the API is there before 18.4 but does not hold the screen.
    expect(wakeNote(true, true, true, [17, 5])).toMatch(/iOS 18\.4/)
    expect(wakeNote(true, true, true)).toMatch(/iOS 18\.4/)
    expect(wakeNote(true, true, true, [18, 4])).toBeUndefined()
    expect(wakeNote(true, true, true, [26, 0])).toBeUndefined()
    expect(wakeNote(true, false, false)).toMatch(/Auto-Lock/)
    expect(wakeNote(true, false, true)).toBeUndefined()
    expect(wakeNote(false, true, false)).toBeUndefined()
  })
})
