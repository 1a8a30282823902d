import { describe, expect, it } from 'vitest'
import { causeOf } from './error-cause.ts'

describe('causes of failures', () => {
  it('names every kind of thing thrown, never "undefined"', () => {
    expect(causeOf(new Error('boom'))).toBe('boom')
    expect(causeOf(new TypeError(''))).toBe('TypeError')
    expect(causeOf(new DOMException('signal timed out', 'TimeoutError'))).toBe('signal timed out')
    expect(causeOf(new Event('close'))).toMatch(/fired "close"/)
    const withError = new Event('error') as Event & { error?: unknown }
    withError.error = new Error('SCTP failure')
    expect(causeOf(withError)).toBe('SCTP failure')
    expect(causeOf('gone')).toBe('gone')
    expect(causeOf({ message: 'like an error' })).toBe('like an error')
    expect(causeOf({ code: 5 })).toBe('{"code":5}')
    for (const v of [undefined, null, '', {}, 0]) expect(causeOf(v)).not.toMatch(/^undefined$|^$/)
  })
})
