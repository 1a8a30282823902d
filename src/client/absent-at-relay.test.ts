import { describe, expect, it } from 'vitest'
import { PeerAbsentError, absentAtRelay } from './libp2p-transport.ts'

describe('absentAtRelay', () => {
  it('finds the relay\'s NO_RESERVATION answer in the error, an AggregateError of dials, or a cause', () => {
    const answer = new Error('failed to connect via relay with status NO_RESERVATION')
    expect(absentAtRelay(answer)).toBe(true)
    expect(absentAtRelay(new AggregateError([new Error('ICE failed'), answer], 'all dials failed'))).toBe(true)
    expect(absentAtRelay(new Error('dial failed', { cause: answer }))).toBe(true)
    expect(absentAtRelay(new PeerAbsentError('not there'))).toBe(true)
  })

  it('is false for other failures, and for what is not an error', () => {
    expect(absentAtRelay(new Error('failed to connect via relay with status RESERVATION_REFUSED'))).toBe(false)
    expect(absentAtRelay(new Error('The operation was aborted due to timeout'))).toBe(false)
    expect(absentAtRelay('NO_RESERVATION')).toBe(false)
    expect(absentAtRelay(undefined)).toBe(false)
  })
})
