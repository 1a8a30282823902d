import { describe, expect, it } from 'vitest'
import { LightcafeError, refusalError } from './errors.ts'

describe('refusalError', () => {
  it('keeps a reason of ours, its details and the status', () => {
    const err = refusalError(404, { error: { reason: 'PIN_NOT_FOUND', details: 'no such pin' } })
    expect(err).toBeInstanceOf(LightcafeError)
    expect(err).toMatchObject({ reason: 'PIN_NOT_FOUND', status: 404, message: 'PIN_NOT_FOUND: no such pin' })
  })

  it('names a stranger\'s reason REMOTE_ERROR, and a missing body by its status', () => {
    expect(refusalError(418, { error: { reason: 'TEAPOT', details: 'short and stout' } })).toMatchObject({ reason: 'REMOTE_ERROR', status: 418, message: 'TEAPOT: short and stout' })
    expect(refusalError(502, null)).toMatchObject({ reason: 'REMOTE_ERROR', status: 502, message: '502: ' })
  })
})
