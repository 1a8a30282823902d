import { generateKeyPair } from '@libp2p/crypto/keys'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { accountFromMnemonic, newMnemonic, registrationMessage } from '../account/index.ts'
import { toBase64url } from '../shared/bytes.ts'
import { createCafeApp } from './app.ts'
import { CafeHost } from './host.ts'
import { SESSION_LIMITS } from './limits.ts'
import { MemoryCafeStore } from './store.ts'
import { testCafeHost } from '../../test/fixtures/cafe-host.ts'

describe('the /cafe/v1 app', () => {
  let host: CafeHost
  let app: ReturnType<typeof createCafeApp>
  let cafeId: string
  const alice = accountFromMnemonic(newMnemonic())
  const PEER = { remotePeer: 'peerA' }

  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}, env = PEER): Promise<{ status: number, body: any }> => {
    const init: RequestInit = { method, headers: { ...headers } }
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body)
      ;(init.headers as Record<string, string>)['content-type'] ??= 'application/json'
    }
    const res = await app.request(`http://cafe/cafe/v1${path}`, init, env)
    const text = await res.text()
    return { status: res.status, body: text === '' ? null : JSON.parse(text) }
  }

  const registerVia = async (env: typeof PEER, peerId?: string): Promise<{ id: string, access: string, refresh: string }> => {
    const { token } = await host.createToken()
    const ch = await call('POST', '/sessions/challenge', { address: alice.address }, {}, env)
    const sig = toBase64url(alice.sign(registrationMessage(cafeId, alice.address, ch.body.nonce)))
    const reg = await call('POST', '/sessions', { address: alice.address, token, nonce: ch.body.nonce, sig, ...(peerId != null ? { peerId } : {}) }, {}, env)
    expect(reg.status).toBe(201)
    return reg.body
  }

  beforeEach(async () => {
    ;({ cafeId, host } = await testCafeHost({ settings: { enabled: true, name: 'test cafe' } }))
    app = createCafeApp(host, { version: '9' })
  })

  it('registers, answers an authenticated no-op, refreshes and deregisters', async () => {
    expect((await call('GET', '/info')).body).toEqual({ peerId: cafeId, name: 'test cafe', open: true, version: '9' })
    const { token } = await host.createToken()
    const ch = await call('POST', '/sessions/challenge', { address: alice.address })
    expect(ch.status).toBe(200)
    const sig = toBase64url(alice.sign(registrationMessage(cafeId, alice.address, ch.body.nonce)))
    const reg = await call('POST', '/sessions', { address: alice.address, token, nonce: ch.body.nonce, sig })
    expect(reg.status).toBe(201)
    expect(reg.body).toMatchObject({ cafe: cafeId, address: alice.address })
    const me = await call('GET', '/sessions/me', undefined, { authorization: `Bearer ${reg.body.access}` })
    expect(me.body).toEqual({ address: alice.address, peerId: 'peerA', sid: reg.body.id })
    const ref = await call('POST', '/sessions/refresh', {}, { authorization: `Bearer ${reg.body.refresh}` })
    expect(ref.status).toBe(200)
    expect((await call('DELETE', '/sessions', undefined, { authorization: `Bearer ${ref.body.access}` })).status).toBe(204)
    const after = await call('GET', '/sessions/me', undefined, { authorization: `Bearer ${ref.body.access}` })
    expect(after.status).toBe(401)
    expect(after.body.error.reason).toBe('SESSION_ENDED')
  })

  it('answers bad input with a 4xx naming the problem, and stores nothing', async () => {
    const { token } = await host.createToken()
    const cases: Array<[unknown, number, string]> = [
      ['{"address":', 400, 'INVALID_JSON'],
      ['[1,2]', 400, 'INVALID_JSON'],
      [{ address: alice.address, token: 7, nonce: 'n', sig: 's' }, 400, 'INVALID_FIELD'],
      [{ address: alice.address, token, nonce: 'n' }, 400, 'INVALID_FIELD'],
      [{ address: 'nope', token, nonce: 'n', sig: 's' }, 400, 'INVALID_ADDRESS'],
      [{ address: alice.address, token, nonce: 'never-issued', sig: 's' }, 401, 'NONCE_INVALID'],
      [{ address: alice.address, token: 'x'.repeat(SESSION_LIMITS.maxJsonBody), nonce: 'n', sig: 's' }, 413, 'BODY_TOO_LARGE']
    ]
    for (const [body, status, reason] of cases) {
      const res = await call('POST', '/sessions', body)
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(status)
      expect(res.body.error.reason).toBe(reason)
    }
    const named = async (path: string, body: unknown, field: string, env = PEER): Promise<void> => {
      const res = await call('POST', path, body, {}, env)
      expect(res.status).toBe(400)
      expect(res.body.error).toEqual({ reason: 'INVALID_FIELD', details: expect.stringMatching(new RegExp(`^${field} must be`)) })
    }
    await named('/sessions', { address: alice.address, token: 7, nonce: 'n', sig: 's' }, 'token')
    await named('/sessions', { address: alice.address, token, nonce: 'n', sig: 'x'.repeat(500) }, 'sig')
    await named('/sessions/challenge', { address: 7 }, 'address')
    await named('/sessions/challenge', {}, 'address')
    // Same-origin callers may name their peer id; it must be a bounded string.
    await named('/sessions', { address: alice.address, token, nonce: 'n', sig: 's', peerId: 42 }, 'peerId', {} as typeof PEER)
    const notJson = await call('POST', '/sessions/challenge', 'address=x', { 'content-type': 'text/plain' })
    expect(notJson.body.error.reason).toBe('INVALID_CONTENT_TYPE')
    // A claimed small content-length does not let a large body through.
    const lying = await call('POST', '/sessions/challenge', JSON.stringify({ address: 'z'.repeat(200_000) }), { 'content-length': '10' })
    expect(lying.status).toBe(413)
    expect(await host.listClients()).toEqual([])
  })

  it('requires a bearer session on authenticated routes and answers JSON 404s', async () => {
    const none = await call('GET', '/sessions/me')
    expect(none.status).toBe(401)
    expect(none.body.error.reason).toBe('JWT_MISSING')
    expect((await call('GET', '/sessions/me', undefined, { authorization: 'Bearer not.a.jwt' })).body.error.reason).toBe('JWT_INVALID')
    const missing = await call('GET', '/nope')
    expect(missing.status).toBe(404)
    expect(missing.body.error.reason).toBe('NOT_FOUND')
  })

  it('refuses everything but /info while cafe mode is off, and stores nothing', async () => {
    const { token } = await host.createToken()
    const { nonce } = host.challenge(alice.address, PEER.remotePeer)
    const sig = toBase64url(alice.sign(registrationMessage(cafeId, alice.address, nonce)))
    await host.setSettings({ enabled: false })
    expect((await call('GET', '/info')).body.open).toBe(false)
    for (const [method, path, body] of [['POST', '/sessions/challenge', { address: alice.address }], ['POST', '/sessions', { address: alice.address, token, nonce, sig }], ['GET', '/sessions/me'], ['POST', '/sessions/refresh'], ['DELETE', '/sessions']] as const) {
      const res = await call(method, path, body)
      expect(res.status, path).toBe(503)
      expect(res.body.error.reason).toBe('CAFE_DISABLED')
    }
    expect(await host.listClients()).toEqual([])
    expect((await host.listTokens())[0].usedBy).toBeUndefined()
    // The refused attempt did not spend the challenge: it still works once the cafe opens.
    await host.setSettings({ enabled: true })
    expect((await call('POST', '/sessions', { address: alice.address, token, nonce, sig })).status).toBe(201)
  })

  it('requires the right bearer JWT on each session route', async () => {
    for (const [method, path] of [['GET', '/sessions/me'], ['POST', '/sessions/refresh'], ['DELETE', '/sessions']] as const) {
      const res = await call(method, path)
      expect(res.status, path).toBe(401)
      expect(res.body.error.reason).toBe('JWT_MISSING')
      expect((await call(method, path, undefined, { authorization: 'Basic abc' })).body.error.reason).toBe('JWT_MISSING')
    }
    const s = await registerVia(PEER)
    const auth = (jwt: string): Record<string, string> => ({ authorization: `Bearer ${jwt}` })
    expect((await call('POST', '/sessions/refresh', undefined, auth(s.access))).body.error.reason).toBe('WRONG_SCOPE')
    expect((await call('GET', '/sessions/me', undefined, auth(s.refresh))).body.error.reason).toBe('WRONG_SCOPE')
    expect((await call('DELETE', '/sessions', undefined, auth(s.refresh))).body.error.reason).toBe('WRONG_SCOPE')
    const other = await call('GET', '/sessions/me', undefined, auth(s.access), { remotePeer: 'peerB' })
    expect(other.status).toBe(403)
    expect(other.body.error.reason).toBe('PEER_MISMATCH')
    expect(await host.listClients()).toHaveLength(1) // none of the refused calls deregistered
  })

  it('binds a same-origin registration to the peer id it names (or none)', async () => {
    const local = {} as typeof PEER
    const s = await registerVia(local, 'peerZ')
    const me = await call('GET', '/sessions/me', undefined, { authorization: `Bearer ${s.access}` }, local)
    expect(me.body).toEqual({ address: alice.address, peerId: 'peerZ', sid: s.id })
    expect((await call('GET', '/sessions/me', undefined, { authorization: `Bearer ${s.access}` }, { remotePeer: 'peerZ' })).status).toBe(200)
    expect((await call('GET', '/sessions/me', undefined, { authorization: `Bearer ${s.access}` }, PEER)).body.error.reason).toBe('PEER_MISMATCH')
    const anon = await registerVia(local)
    expect((await call('GET', '/sessions/me', undefined, { authorization: `Bearer ${anon.access}` }, local)).body.peerId).toBe('')
  })

  it('answers an unexpected failure with 500 INTERNAL and no stack', async () => {
    const store = new MemoryCafeStore()
    store.getToken = async () => { throw new Error('disk on fire at /secret/path') }
    const key = await generateKeyPair('Ed25519')
    const broken = new CafeHost({ peerId: cafeId, privateKeyRaw: key.raw, store })
    await broken.setSettings({ enabled: true })
    app = createCafeApp(broken)
    const { nonce } = broken.challenge(alice.address, PEER.remotePeer)
    const sig = toBase64url(alice.sign(registrationMessage(cafeId, alice.address, nonce)))
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => {})
    const res = await call('POST', '/sessions', { address: alice.address, token: `${'A'.repeat(16)}.${'A'.repeat(43)}`, nonce, sig })
    quiet.mockRestore()
    expect(res.status).toBe(500)
    expect(res.body.error.reason).toBe('INTERNAL')
    expect(JSON.stringify(res.body)).not.toMatch(/secret\/path|at .*\.ts/)
  })
})
