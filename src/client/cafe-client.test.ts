import { beforeEach, describe, expect, it } from 'vitest'
import { accountFromMnemonic, newMnemonic } from '../account/index.ts'
import { CafeHost, SESSION_LIMITS, createCafeApp } from '../cafe/index.ts'
import { CafeClient, parseCafe } from './cafe-client.ts'
import { MemorySessionStore } from './session-store.ts'
import type { CafeTransport } from './cafe-client.ts'
import { testCafeHost } from '../../test/fixtures/cafe-host.ts'

// The client against a real cafe host and app, carried in memory instead of libp2p.
describe('CafeClient', () => {
  const clock = { ms: Date.parse('2026-03-01T00:00:00Z') }
  let host: CafeHost
  let cafeId: string
  let client: CafeClient
  let calls: string[]
  const account = accountFromMnemonic(newMnemonic())

  beforeEach(async () => {
    ;({ cafeId, host } = await testCafeHost({ now: () => clock.ms }))
    const app = createCafeApp(host)
    calls = []
    const transport: CafeTransport = async (cafe, request) => {
      calls.push(`${request.method} ${new URL(request.url).pathname}`)
      expect(cafe.id).toBe(cafeId)
      return app.fetch(request, { remotePeer: 'client-peer' })
    }
    client = new CafeClient({ account: () => account, store: new MemorySessionStore(), transport, now: () => clock.ms })
  })

  it('registers by peer id and keeps the session', async () => {
    const s = await client.register(cafeId, (await host.createToken()).token)
    expect(s).toMatchObject({ id: cafeId, address: account.address })
    expect((await client.list()).map(x => x.id)).toEqual([cafeId])
    expect((await host.listClients())[0]).toMatchObject({ address: account.address, peerId: 'client-peer' })
    client.stop()
  })

  it('refreshes before the access token expires, and concurrent callers share one refresh', async () => {
    await client.register(cafeId, (await host.createToken()).token)
    clock.ms += (SESSION_LIMITS.accessTtlS - 30) * 1000 // inside the refresh-ahead window
    const results = await Promise.all([1, 2, 3].map(async () => (await client.request(cafeId, '/cafe/v1/sessions/me')).status))
    expect(results).toEqual([200, 200, 200])
    // One refresh only: a second would reuse the rotated token and end the session.
    expect(calls.filter(c => c.endsWith('/sessions/refresh'))).toHaveLength(1)
    client.stop()
  })

  it('a caller\'s signal aborts a registration or a request the cafe is slow to answer, with the caller\'s reason', async () => {
    const app = createCafeApp(host)
    let stall = false
    const transport: CafeTransport = async (_cafe, request, options) => {
      if (!stall) return app.fetch(request, { remotePeer: 'client-peer' })
      return new Promise((_resolve, reject) => { options?.signal?.addEventListener('abort', () => { reject(options.signal?.reason) }, { once: true }) })
    }
    const slow = new CafeClient({ account: () => account, store: new MemorySessionStore(), transport, now: () => clock.ms })
    const token = (await host.createToken()).token
    const given = new Error('the caller gave up')
    stall = true
    const registering = new AbortController()
    const registration = slow.register(cafeId, token, { signal: registering.signal })
    registering.abort(given)
    await expect(registration).rejects.toBe(given)
    expect(await slow.list()).toEqual([])
    await expect(slow.register(cafeId, token, { signal: AbortSignal.abort(given) })).rejects.toBe(given)

    stall = false
    await slow.register(cafeId, token)
    stall = true
    const asking = new AbortController()
    const answer = slow.request(cafeId, '/cafe/v1/sessions/me', {}, { signal: asking.signal })
    asking.abort(given)
    await expect(answer).rejects.toBe(given)
    slow.stop()
  })

  it('marks a session ended when the cafe refuses its refresh, and asks for a new registration', async () => {
    await client.register(cafeId, (await host.createToken()).token)
    await host.removeClient(account.address)
    await expect(client.refresh(cafeId)).rejects.toMatchObject({ reason: 'SESSION_ENDED' })
    expect((await client.get(cafeId)).ended?.reason).toBe('SESSION_ENDED')
    await expect(client.request(cafeId, '/cafe/v1/sessions/me')).rejects.toMatchObject({ reason: 'SESSION_ENDED' })
    client.stop()
  })

  describe('a refresh whose answer is lost after the cafe rotated', () => {
    let dropNext: boolean
    let dropped: string | undefined
    let sessions: MemorySessionStore
    let transport: CafeTransport
    beforeEach(() => {
      const app = createCafeApp(host)
      dropNext = false
      dropped = undefined
      sessions = new MemorySessionStore()
      // The cafe answers; the answer never arrives (a dropped link, a reload mid-flight).
      transport = async (_cafe, request) => {
        const res = await app.fetch(request, { remotePeer: 'client-peer' })
        if (dropNext && new URL(request.url).pathname.endsWith('/sessions/refresh')) {
          dropNext = false
          dropped = ((await res.json()) as { refresh: string }).refresh
          throw new Error('the link dropped')
        }
        return res
      }
      client = new CafeClient({ account: () => account, store: sessions, transport, now: () => clock.ms })
    })
    const refreshed = async (): Promise<string> => {
      for (let i = 0; i < 200 && (await sessions.get(cafeId))?.refresh !== dropped; i++) await new Promise(resolve => setTimeout(resolve, 50))
      return (await sessions.get(cafeId))!.refresh
    }

    it('is retried by itself with the old token and gets the pair the cafe issued', async () => {
      await client.register(cafeId, (await host.createToken()).token)
      dropNext = true
      await expect(client.refresh(cafeId)).rejects.toMatchObject({ reason: 'CAFE_UNREACHABLE' })
      expect(dropped).toEqual(expect.any(String))
      expect((await client.get(cafeId)).ended).toBeUndefined()
      expect(await refreshed()).toBe(dropped)
      expect((await client.request(cafeId, '/cafe/v1/sessions/me')).status).toBe(200)
      client.stop()
    })

    it('survives a reload: the new page retries with the stored old token', async () => {
      await client.register(cafeId, (await host.createToken()).token)
      // Refreshes happen a minute before the access token expires; the page reloads just after.
      clock.ms = Date.parse((await sessions.get(cafeId))!.exp) - 60_000
      dropNext = true
      await expect(client.refresh(cafeId)).rejects.toMatchObject({ reason: 'CAFE_UNREACHABLE' })
      client.stop()
      clock.ms += 5_000
      const reloaded = new CafeClient({ account: () => account, store: sessions, transport, now: () => clock.ms })
      await reloaded.start()
      expect(await refreshed()).toBe(dropped)
      expect((await reloaded.get(cafeId)).ended).toBeUndefined()
      expect((await reloaded.request(cafeId, '/cafe/v1/sessions/me')).status).toBe(200)
      reloaded.stop()
    })
  })

  it('deregisters on both sides, and passes cafe errors through with their reason', async () => {
    await expect(client.register(cafeId, 'bad.token')).rejects.toMatchObject({ reason: 'TOKEN_INVALID', status: 401 })
    await client.register(cafeId, (await host.createToken()).token)
    await client.deregister(cafeId)
    expect(await client.list()).toEqual([])
    expect(await host.listClients()).toEqual([])
    await expect(client.deregister(cafeId)).rejects.toMatchObject({ reason: 'CAFE_NOT_FOUND' })
  })

  it('parses cafes given as peer ids or multiaddrs, and refuses anything else', () => {
    expect(parseCafe(cafeId)).toEqual({ id: cafeId, addrs: [] })
    const ma = `/ip4/127.0.0.1/tcp/9/ws/p2p/${cafeId}/p2p-circuit/webrtc/p2p/${cafeId}`
    expect(parseCafe(ma)).toEqual({ id: cafeId, addrs: [ma] })
    for (const bad of ['', 'hello', '/ip4/127.0.0.1/tcp/9', 42]) expect(() => parseCafe(bad)).toThrow(/peer id/)
  })
})
