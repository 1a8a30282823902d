import { afterEach, describe, expect, it, vi } from 'vitest'
import { LightcafeError } from '../shared/errors.ts'
import { stub } from '../../test/fixtures/stub.ts'
import { call } from './local-api.ts'
import type { RunningPeer } from '../peer/index.ts'

const answering = (res: Response): RunningPeer => stub<RunningPeer>({ handle: async () => res })

describe('the dashboard\'s local API calls', () => {
  afterEach(() => { vi.unstubAllGlobals() })

  it('a refusal throws a LightcafeError with its reason, status and text', async () => {
    vi.stubGlobal('location', { origin: 'https://lightcafe.test' })
    const err = await call(answering(Response.json({ error: { reason: 'CAFE_UNREACHABLE', details: 'no route' } }, { status: 503 })), 'GET', '/api/v0/cafes').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(LightcafeError)
    expect(err).toMatchObject({ reason: 'CAFE_UNREACHABLE', status: 503, message: 'CAFE_UNREACHABLE: no route' })
  })

  it('a reason that is not ours is REMOTE_ERROR, its text kept', async () => {
    vi.stubGlobal('location', { origin: 'https://lightcafe.test' })
    const err = await call(answering(Response.json({ error: { reason: 'SOMETHING_ELSE', details: 'x' } }, { status: 500 })), 'GET', '/api/v0/x').catch((e: unknown) => e)
    expect(err).toMatchObject({ reason: 'REMOTE_ERROR', status: 500, message: 'SOMETHING_ELSE: x' })
  })

  it('an answer is its JSON body', async () => {
    vi.stubGlobal('location', { origin: 'https://lightcafe.test' })
    expect(await call(answering(Response.json({ ok: 1 })), 'GET', '/api/v0/x')).toEqual({ ok: 1 })
  })
})
