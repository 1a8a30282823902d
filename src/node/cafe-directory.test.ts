import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DIRECTORY_LIMITS, DirectoryAnnouncer, announceTo, listCafes, serveCafeDirectory } from './cafe-directory.ts'
import { tcpTestNode as node } from './tcp-test-node.ts'
import type { Libp2p } from '@libp2p/interface'

describe('the relays\' cafe directory', () => {
  let relay: Libp2p
  let a: Libp2p
  let b: Libp2p
  let c: Libp2p
  let d: Libp2p
  let clock = 1_000_000
  beforeAll(async () => {
    relay = await node(true)
    await serveCafeDirectory(relay, { now: () => clock, maxEntries: 3 })
    a = await node(false)
    b = await node(false)
    c = await node(false)
    d = await node(false)
  })
  afterAll(async () => { await Promise.all([a?.stop(), b?.stop(), c?.stop(), d?.stop(), relay?.stop()]) })

  const until = async (check: () => Promise<boolean>): Promise<void> => {
    for (let i = 0; i < 100 && !(await check()); i++) await new Promise(resolve => setTimeout(resolve, 20))
  }

  it('lists the cafes that announced themselves (each under its own authenticated peer id), forgets those that left or expired', async () => {
    const addr = relay.getMultiaddrs()
    const announcerA = new DirectoryAnnouncer(a, () => addr)
    const announcerB = new DirectoryAnnouncer(b, () => addr)
    announcerA.set(true)
    announcerB.set(true)
    await until(async () => (await listCafes(a, addr[0])).length === 2)
    expect((await listCafes(b, addr[0])).sort()).toEqual([a.peerId.toString(), b.peerId.toString()].sort())

    announcerB.set(false)
    await until(async () => (await listCafes(a, addr[0])).length === 1)
    expect(await listCafes(a, addr[0])).toEqual([a.peerId.toString()])

    // A cafe that disconnects from the relay is dropped at once.
    announcerB.set(true)
    await until(async () => (await listCafes(a, addr[0])).length === 2)
    await b.hangUp(relay.peerId)
    await until(async () => (await listCafes(a, addr[0])).length === 1)
    expect(await listCafes(a, addr[0])).toEqual([a.peerId.toString()])

    // Not refreshed within the TTL: gone.
    clock += DIRECTORY_LIMITS.ttlMs + 1
    expect(await listCafes(b, addr[0])).toEqual([])
    announcerA.stop()
    announcerB.stop()
  })

  it('when full refuses newcomers instead of pushing out the cafes listed (which keep their place when they refresh)', async () => {
    clock += DIRECTORY_LIMITS.ttlMs + 1 // whatever the test before left has expired
    const addr = relay.getMultiaddrs()[0]
    const id = (n: Libp2p): string => n.peerId.toString()
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
})
