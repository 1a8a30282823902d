import { describe, expect, it } from 'vitest'
import { accountFromMnemonic, newMnemonic, registrationMessage } from '../account/index.ts'
import { toBase64url } from '../shared/bytes.ts'
import { ACTIVITY_LIMITS, ActivityLog, activityKind, parseActivityFilter } from './activity.ts'
import { createCafeApp } from './app.ts'
import { testCafeHost } from '../../test/fixtures/cafe-host.ts'

describe('activity kinds', () => {
  it('names the requests an owner wants to see and ignores reads and refreshes', () => {
    expect(activityKind('POST', '/cafe/v1/sessions')).toBe('registration')
    expect(activityKind('DELETE', '/cafe/v1/sessions')).toBe('registration')
    expect(activityKind('POST', '/cafe/v1/sessions/refresh')).toBeUndefined()
    expect(activityKind('POST', '/cafe/v1/sessions/challenge')).toBeUndefined()
    expect(activityKind('POST', '/cafe/v1/uploads')).toBe('pin')
    expect(activityKind('DELETE', '/cafe/v1/pins/abc')).toBe('pin')
    expect(activityKind('GET', '/cafe/v1/pins')).toBeUndefined()
    expect(activityKind('PUT', '/cafe/v1/snapshots/k')).toBe('snapshot')
    expect(activityKind('POST', '/cafe/v1/inbox')).toBe('delivery')
    expect(activityKind('GET', '/cafe/v1/inbox')).toBe('collect')
    expect(activityKind('POST', '/cafe/v1/inbox/ack')).toBe('collect')
    expect(activityKind('PUT', '/cafe/v1/contacts')).toBe('contact')
    expect(activityKind('POST', '/cafe/v1/search')).toBe('query')
    expect(activityKind('GET', '/cafe/v1/info')).toBeUndefined()
  })
})

describe('the activity log', () => {
  const entry = (kind: 'pin' | 'query', what: string, status = 200) => ({ kind, what, status, ms: 1 })

  it('lists newest first, filtered by kind, text and sequence, and counts every kind', () => {
    const log = new ActivityLog(() => Date.parse('2026-12-01T00:00:00Z'))
    log.record(entry('pin', 'POST /uploads'))
    log.record({ ...entry('query', 'POST /search', 429), who: '12D3KooWStranger' })
    log.record(entry('pin', 'DELETE /pins/x'))
    expect(log.list().map(e => e.seq)).toEqual([3, 2, 1])
    expect(log.list({ kinds: ['pin'] }).map(e => e.what)).toEqual(['DELETE /pins/x', 'POST /uploads'])
    expect(log.list({ text: 'stranger' }).map(e => e.seq)).toEqual([2])
    expect(log.list({ text: '429' }).map(e => e.seq)).toEqual([2])
    expect(log.list({ after: 1 }).map(e => e.seq)).toEqual([3, 2])
    expect(log.list({ limit: 1 }).map(e => e.seq)).toEqual([3])
    expect(log.counts()).toMatchObject({ pin: 2, query: 1, delivery: 0 })
    expect(log.list()[0].at).toBe('2026-12-01T00:00:00.000Z')
  })

  it('keeps a bounded number of entries but counts all of them, and tells listeners', () => {
    const log = new ActivityLog()
    const heard: number[] = []
    log.addEventListener('activity', e => { heard.push(e.detail.seq) })
    for (let i = 0; i < ACTIVITY_LIMITS.keep + 5; i++) log.record(entry('pin', `POST /uploads ${i}`))
    expect(log.list({ limit: ACTIVITY_LIMITS.maxList + 100 }).length).toBe(ACTIVITY_LIMITS.maxList)
    expect(log.size).toBe(ACTIVITY_LIMITS.keep)
    expect(log.list({ limit: 1 })[0].seq).toBe(ACTIVITY_LIMITS.keep + 5)
    expect(log.counts().pin).toBe(ACTIVITY_LIMITS.keep + 5)
    expect(heard.length).toBe(ACTIVITY_LIMITS.keep + 5)
  })

  it('parses a query filter and refuses what it does not understand', () => {
    expect(parseActivityFilter(new URLSearchParams('kind=pin,query&q=abc&after=3&limit=10'))).toEqual({ kinds: ['pin', 'query'], text: 'abc', after: 3, limit: 10 })
    expect(parseActivityFilter(new URLSearchParams('kind=&q='))).toEqual({})
    expect(() => parseActivityFilter(new URLSearchParams('kind=pins'))).toThrow(/kind must be among/)
    expect(() => parseActivityFilter(new URLSearchParams(`q=${'x'.repeat(ACTIVITY_LIMITS.maxText + 1)}`))).toThrow(/at most/)
    expect(() => parseActivityFilter(new URLSearchParams('limit=-1'))).toThrow(/whole number/)
    expect(() => parseActivityFilter(new URLSearchParams('after=1.5'))).toThrow(/whole number/)
  })
})

describe('the cafe app reports activity', () => {
  it('tells of registrations and refusals with the caller, but not of reads', async () => {
    const { cafeId, host } = await testCafeHost()
    const log = new ActivityLog()
    const app = createCafeApp(host, { onActivity: a => { log.record(a) } })
    const env = { remotePeer: 'peerA' }
    const post = async (path: string, body: unknown): Promise<Response> => app.request(`http://cafe/cafe/v1${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }, env)

    const alice = accountFromMnemonic(newMnemonic())
    const { token } = await host.createToken()
    const { nonce } = await (await post('/sessions/challenge', { address: alice.address })).json()
    const sig = toBase64url(alice.sign(registrationMessage(cafeId, alice.address, nonce)))
    expect((await post('/sessions', { address: alice.address, token, nonce, sig })).status).toBe(201)
    expect((await post('/sessions', { address: alice.address, token, nonce, sig })).status).toBe(401) // nonce spent
    await app.request('http://cafe/cafe/v1/info', {}, env)

    const rows = log.list()
    expect(rows.map(r => [r.kind, r.what, r.status])).toEqual([['registration', 'POST /sessions', 401], ['registration', 'POST /sessions', 201]])
    expect(rows.map(r => r.who)).toEqual(['peerA', 'peerA'])
  })
})
