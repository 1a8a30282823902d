import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { DIRECTORY_LIMITS, DIRECTORY_PROTOCOL, cafeDirectory, cafeDirectoryServer } from './index.ts'
import { tcpTestNode } from '../../../test/fixtures/tcp-node.ts'
import type { CafeDirectory, CafeDirectoryServer } from './index.ts'
import type { Libp2p } from '@libp2p/interface'

type Cafe = Libp2p<{ cafeDirectory: CafeDirectory }>

describe('the relays\' cafe directory', () => {
  let relay: Libp2p<{ cafeDirectory: CafeDirectoryServer }>
  let a: Cafe
  let b: Cafe
  let c: Cafe
  let d: Cafe
  let clock = 1_000_000
  const cafe = async (): Promise<Cafe> => tcpTestNode(false, { cafeDirectory: cafeDirectory({ relays: () => relay.getMultiaddrs() }) })
  beforeAll(async () => {
    relay = await tcpTestNode(true, { cafeDirectory: cafeDirectoryServer({ now: () => clock, maxEntries: 3 }) })
    a = await cafe()
    b = await cafe()
    c = await cafe()
    d = await cafe()
  })
  afterAll(async () => { await Promise.all([a?.stop(), b?.stop(), c?.stop(), d?.stop(), relay?.stop()]) })

  const until = async (check: () => Promise<boolean>): Promise<void> => {
    await vi.waitFor(async () => { expect(await check()).toBe(true) }, { timeout: 10_000, interval: 20 })
  }

  it('lists the cafes that announced themselves (each under its own authenticated peer id), forgets those that left or expired', async () => {
    const addr = relay.getMultiaddrs()
    const listCafes = async (n: Cafe, r: typeof addr[0]): Promise<string[]> => n.services.cafeDirectory.list(r)
    void a.services.cafeDirectory.keepAnnounced(true)
    void b.services.cafeDirectory.keepAnnounced(true)
    await until(async () => (await listCafes(a, addr[0])).length === 2)
    expect((await listCafes(b, addr[0])).sort()).toEqual([a.peerId.toString(), b.peerId.toString()].sort())

    void b.services.cafeDirectory.keepAnnounced(false)
    await until(async () => (await listCafes(a, addr[0])).length === 1)
    expect(await listCafes(a, addr[0])).toEqual([a.peerId.toString()])

    // A cafe that disconnects from the relay is dropped at once.
    void b.services.cafeDirectory.keepAnnounced(true)
    await until(async () => (await listCafes(a, addr[0])).length === 2)
    await b.hangUp(relay.peerId)
    await until(async () => (await listCafes(a, addr[0])).length === 1)
    expect(await listCafes(a, addr[0])).toEqual([a.peerId.toString()])

    // Not refreshed within the TTL: gone.
    clock += DIRECTORY_LIMITS.ttlMs + 1
    expect(await listCafes(b, addr[0])).toEqual([])
    await a.services.cafeDirectory.keepAnnounced(false)
    await b.services.cafeDirectory.keepAnnounced(false)
  })

  it('when full refuses newcomers instead of pushing out the cafes listed (which keep their place when they refresh)', async () => {
    clock += DIRECTORY_LIMITS.ttlMs + 1 // whatever the test before left has expired
    const addr = relay.getMultiaddrs()[0]
    const id = (n: Libp2p): string => n.peerId.toString()
    const announceTo = async (n: Cafe, r: typeof addr): Promise<Record<string, unknown>> => n.services.cafeDirectory.announce(r)
    const listCafes = async (n: Cafe, r: typeof addr): Promise<string[]> => n.services.cafeDirectory.list(r)
    for (const n of [a, b, c]) expect(await announceTo(n, addr)).toMatchObject({ ok: true })
    // The directory holds 3 here: a fourth peer id (free to mint) gets no place, and takes none.
    expect(await announceTo(d, addr)).toMatchObject({ error: 'DIRECTORY_FULL' })
    expect(await listCafes(d, addr)).toEqual([id(a), id(b), id(c)])
    clock += DIRECTORY_LIMITS.announceEveryMs
    expect(await announceTo(c, addr)).toMatchObject({ ok: true })
    expect(await announceTo(a, addr)).toMatchObject({ ok: true })
    expect(await announceTo(d, addr)).toMatchObject({ error: 'DIRECTORY_FULL' })
    expect(await listCafes(d, addr)).toEqual([id(a), id(b), id(c)])
    // b stopped refreshing: once its entry expires there is room.
    clock += DIRECTORY_LIMITS.ttlMs - DIRECTORY_LIMITS.announceEveryMs + 1
    expect(await announceTo(d, addr)).toMatchObject({ ok: true })
    expect(await listCafes(d, addr)).toEqual([id(a), id(c), id(d)])
  })

  it('lists at most a few cafes from one source address, so one host minting peer ids cannot fill it [issue 24]', async () => {
    // Loopback is counted like any address (only `npm start`'s relay exempts it).
    const other = await tcpTestNode(true, { cafeDirectory: cafeDirectoryServer({ now: () => clock, maxEntries: 5, maxPerAddress: 3 }) })
    const sybils = await Promise.all(Array.from({ length: 5 }, async () => cafe()))
    try {
      const addr = other.getMultiaddrs()[0]
      const answers = []
      for (const s of sybils) answers.push(await s.services.cafeDirectory.announce(addr))
      // Before: all five listed, and the directory full for everyone else (DIRECTORY_FULL).
      expect(answers.filter(a => a.ok === true)).toHaveLength(3)
      expect(answers.slice(3)).toEqual([{ error: 'TOO_MANY_LISTINGS', retryMs: DIRECTORY_LIMITS.announceEveryMs }, { error: 'TOO_MANY_LISTINGS', retryMs: DIRECTORY_LIMITS.announceEveryMs }])
      expect(other.services.cafeDirectory.entries()).toHaveLength(3)
      // A listed cafe from there still refreshes its entry.
      expect(await sybils[0].services.cafeDirectory.announce(addr)).toMatchObject({ ok: true })
    } finally {
      await Promise.all([other.stop(), ...sybils.map(async s => s.stop())])
    }
  })

  it('stops with its node: the protocol goes, the entries and the disconnect listener with it; a restart serves afresh', async () => {
    const other = await tcpTestNode(true, { cafeDirectory: cafeDirectoryServer({ now: () => clock }) })
    try {
      expect(await a.services.cafeDirectory.announce(other.getMultiaddrs()[0])).toMatchObject({ ok: true })
      expect(other.services.cafeDirectory.entries()).toEqual([a.peerId.toString()])
      await other.stop()
      expect(other.services.cafeDirectory.entries()).toEqual([])
      await other.start()
      expect(other.getProtocols()).toContain(DIRECTORY_PROTOCOL)
      const addr = other.getMultiaddrs()[0]
      expect(await b.services.cafeDirectory.announce(addr)).toMatchObject({ ok: true })
      expect(await b.services.cafeDirectory.list(addr)).toEqual([b.peerId.toString()])
    } finally {
      await other.stop()
    }
  })
})
