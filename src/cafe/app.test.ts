import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { beforeEach, describe, expect, it } from 'vitest'
import { accountFromMnemonic, newMnemonic, registrationMessage } from '../account/index.ts'
import { toBase64url } from '../shared/bytes.ts'
import { createCafeApp } from './app.ts'
import { CafeHost } from './host.ts'
import { SESSION_LIMITS } from './limits.ts'
import { MemoryCafeStore } from './store.ts'

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

  beforeEach(async () => {
    const key = await generateKeyPair('Ed25519')
    cafeId = peerIdFromPrivateKey(key).toString()
    host = new CafeHost({ peerId: cafeId, privateKeyRaw: key.raw, store: new MemoryCafeStore() })
    await host.setSettings({ enabled: true, name: 'test cafe' })
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

  it('refuses everything but /info while cafe mode is off', async () => {
    await host.setSettings({ enabled: false })
    expect((await call('GET', '/info')).body.open).toBe(false)
    const res = await call('POST', '/sessions/challenge', { address: alice.address })
    expect(res.status).toBe(503)
    expect(res.body.error.reason).toBe('CAFE_DISABLED')
  })
})
