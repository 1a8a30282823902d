import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DIRECTORY_LIMITS, DirectoryAnnouncer, listCafes, serveCafeDirectory } from './cafe-directory.ts'
import { tcpTestNode as node } from './tcp-test-node.ts'
import type { Libp2p } from '@libp2p/interface'

describe('the relays\' cafe directory', () => {
  let relay: Libp2p
  let a: Libp2p
  let b: Libp2p
  let clock = 1_000_000
  beforeAll(async () => {
    relay = await node(true)
    await serveCafeDirectory(relay, () => clock)
    a = await node(false)
    b = await node(false)
  })
  afterAll(async () => { await Promise.all([a?.stop(), b?.stop(), relay?.stop()]) })

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
})
