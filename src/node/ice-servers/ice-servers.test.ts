import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tcpTestNode } from '../../../test/fixtures/tcp-node.ts'
import { ICE_LIMITS, IceServers, askIceServers, iceServersOf, iceServersServer } from './index.ts'
import type { IceServerEntry, IceSource } from './index.ts'
import type { Libp2p } from '@libp2p/interface'

describe('ICE servers from the relay (/lightcafe/ice-servers/1.0.0)', () => {
  let relay: Libp2p
  let page: Libp2p
  const asked: string[] = []
  beforeAll(async () => {
    relay = await tcpTestNode(true, {
      iceServers: iceServersServer({
        mint: (peer, source) => { asked.push(`${peer} from ${source}`); return [{ urls: ['stun:relay.example.org:3478'] }, { urls: ['turn:relay.example.org:3478?transport=udp'], username: `99:${peer}`, credential: `pw-${peer}`, expiresAt: 99_000 }] },
        rate: { capacity: 2, refillPerSecond: 0.001 }
      })
    })
    page = await tcpTestNode(false)
    await page.dial(relay.getMultiaddrs()[0])
  })
  afterAll(async () => { await Promise.all([page?.stop(), relay?.stop()]) })

  it('mints for the peer Noise authenticated, from the address it asks from (the minting bound per address), and limits how often one peer asks', async () => {
    const servers = await askIceServers(page, relay.peerId)
    expect(asked).toEqual([`${page.peerId.toString()} from 127.0.0.1`])
    expect(servers).toEqual([{ urls: ['stun:relay.example.org:3478'] }, { urls: ['turn:relay.example.org:3478?transport=udp'], username: `99:${page.peerId.toString()}`, credential: `pw-${page.peerId.toString()}`, expiresAt: 99_000 }])
    await askIceServers(page, relay.peerId)
    await expect(askIceServers(page, relay.peerId)).rejects.toThrow(/RATE_LIMITED/)
    expect(asked).toHaveLength(2)
  })
})

describe('iceServersOf: what a page accepts from relays.json or a relay', () => {
  it('keeps well-formed STUN/TURN entries within bounds, TURN only with credentials', () => {
    expect(iceServersOf([
      { urls: 'stun:a.example:3478' },
      { urls: ['turn:b.example:3478'], username: 'u', credential: 'p', expiresAt: 5 },
      { urls: ['turn:c.example:3478'] },
      { urls: ['https://evil.example/'] },
      { urls: ['stun:' + 'x'.repeat(300)] },
      'nonsense', null
    ])).toEqual([{ urls: ['stun:a.example:3478'] }, { urls: ['turn:b.example:3478'], username: 'u', credential: 'p', expiresAt: 5 }])
    expect(iceServersOf(Array.from({ length: 50 }, () => ({ urls: 'stun:a.example' })))).toHaveLength(ICE_LIMITS.maxServers)
    expect(iceServersOf({ urls: 'stun:a' })).toEqual([])
  })
})

describe('IceServers: what each new WebRTC connection starts with', () => {
  const source = (key: string, answers: Array<IceServerEntry[] | Error>, available = (): boolean => true): IceSource & { calls: number } => {
    const s = {
      key,
      calls: 0,
      available,
      fetch: async () => { const a = answers[Math.min(s.calls++, answers.length - 1)]; if (a instanceof Error) throw a; return a }
    }
    return s
  }

  it('asks again before a credential expires, never hands out an expired one, and waits (bounded) only when it holds none', async () => {
    let now = 1_000_000
    const turn = (exp: number, pw: string): IceServerEntry => ({ urls: ['turn:t.example:3478'], username: `${exp}:x`, credential: pw, expiresAt: exp })
    const relay = source('relay', [[turn(now + 3_600_000, 'one')], [turn(now + 7_200_000, 'two')]])
    const ice = new IceServers({ sources: () => [relay], now: () => now })
    expect(await ice.forConnection()).toEqual([{ urls: ['turn:t.example:3478'], username: `${1_000_000 + 3_600_000}:x`, credential: 'one' }])
    expect(relay.calls).toBe(1)
    await ice.forConnection()
    expect(relay.calls).toBe(1) // still fresh
    now += 3_600_000 - ICE_LIMITS.refreshBeforeMs + 1
    await ice.refresh()
    expect(relay.calls).toBe(2)
    expect((await ice.forConnection())[0].credential).toBe('two')
    now += 7_200_000
    expect(ice.current()).toEqual([]) // expired, and not yet asked again
  })

  it('gives up waiting after waitMs, skips sources that are not available, and retries a failed one later', async () => {
    let now = 0
    const slow: IceSource = { key: 'slow', available: () => true, fetch: async () => new Promise(() => {}) }
    const down = source('down', [new Error('refused'), [{ urls: ['stun:s.example'] }]])
    const off = source('off', [[{ urls: ['stun:never.example'] }]], () => false)
    const t = Date.now()
    expect(await new IceServers({ sources: () => [slow], waitMs: 50 }).forConnection()).toEqual([])
    expect(Date.now() - t).toBeLessThan(2_000)
    const ice = new IceServers({ sources: () => [down, off], now: () => now, retryMs: 1_000 })
    expect(await ice.forConnection()).toEqual([])
    expect(off.calls).toBe(0)
    await ice.refresh()
    expect(down.calls).toBe(1)
    now += 1_001
    await ice.refresh()
    expect(down.calls).toBe(2)
    expect(ice.current()).toEqual([{ urls: ['stun:s.example'] }])
  })
})
