import { describe, expect, it } from 'vitest'
import { PinLedger } from './ledger.ts'
import type { BlockRef } from './ledger.ts'

const b = (cid: string, bytes: number): BlockRef => ({ cid, bytes })
const MiB = 1024 * 1024

describe('pin ledger: reference counts, quotas, garbage collection', () => {
  it('stores a shared block once and counts it for each client', () => {
    const l = new PinLedger()
    l.commit({ requestid: 'a1', address: 'alice', cid: 'r1', blocks: [b('r1', 10), b('x', 100)] }, MiB)
    l.commit({ requestid: 'b1', address: 'bob', cid: 'r2', blocks: [b('r2', 20), b('x', 100)] }, MiB)
    expect(l.usage('alice')).toBe(110)
    expect(l.usage('bob')).toBe(120)
    // Bob unpins: the shared block stays for Alice, only Bob's own root is freed.
    expect(l.release('b1')).toEqual(['r2'])
    expect(l.isHeld('x')).toBe(true)
    expect(l.usage('bob')).toBe(0)
    expect(l.release('a1').sort()).toEqual(['r1', 'x'])
    expect(l.isHeld('x')).toBe(false)
  })

  it('counts a block once per client even across its own pins and duplicate listings', () => {
    const l = new PinLedger()
    l.commit({ requestid: 'p1', address: 'alice', cid: 'r1', blocks: [b('r1', 10), b('x', 100), b('x', 100)] }, MiB)
    l.commit({ requestid: 'p2', address: 'alice', cid: 'r2', blocks: [b('r2', 5), b('x', 100)] }, MiB)
    expect(l.usage('alice')).toBe(115)
    expect(l.release('p1')).toEqual(['r1']) // x still referenced by p2
    expect(l.usage('alice')).toBe(105)
    expect(l.release('p2').sort()).toEqual(['r2', 'x'])
    expect(l.usage('alice')).toBe(0)
    expect(l.release('p2')).toEqual([])
  })

  it('refuses a pin over quota and records nothing of it', () => {
    const l = new PinLedger()
    l.commit({ requestid: 'p1', address: 'alice', cid: 'r1', blocks: [b('r1', 600)] }, 1000)
    expect(() => { l.commit({ requestid: 'p2', address: 'alice', cid: 'r2', blocks: [b('r2', 300), b('y', 200)] }, 1000) }).toThrow(/QUOTA|needs 500/)
    expect(l.usage('alice')).toBe(600)
    expect(l.pin('p2')).toBeUndefined()
    expect(l.isHeld('y')).toBe(false)
    // Blocks the client already holds cost nothing again, so this fits.
    expect(l.cost('alice', [b('r1', 600), b('z', 400)])).toBe(400)
    l.commit({ requestid: 'p3', address: 'alice', cid: 'r1', blocks: [b('r1', 600), b('z', 400)] }, 1000)
    expect(l.usage('alice')).toBe(1000)
    expect(() => { l.commit({ requestid: 'p3', address: 'alice', cid: 'r9', blocks: [] }, 1000) }).toThrow(/exists/)
  })

  it('a commit counts the bytes other ingests of the client have reserved, and turns only its own reservation into usage', () => {
    const l = new PinLedger()
    // Two uploads of one client in flight: this one reserved 300, another 400.
    l.reserve('alice', 300, 1000)
    l.reserve('alice', 400, 1000)
    // 700 new bytes fit the quota alone, not beside the other upload's 400.
    expect(() => { l.commit({ requestid: 'p1', address: 'alice', cid: 'r1', blocks: [b('r1', 700)] }, 1000, 300) }).toThrow(/needs 700 more bytes; the client uses 400 of its 1000/)
    expect(l.pin('p1')).toBeUndefined()
    expect(l.reserved('alice')).toBe(700)
    // Within what is left it commits, and its 300 are usage now; the other's 400 stay reserved.
    l.commit({ requestid: 'p2', address: 'alice', cid: 'r2', blocks: [b('r2', 300)] }, 1000, 300)
    expect(l.usage('alice')).toBe(300)
    expect(l.reserved('alice')).toBe(400)
    // Another client's reservations are no concern of alice's.
    l.reserve('bob', 1000, 1000)
    l.commit({ requestid: 'p3', address: 'alice', cid: 'r3', blocks: [b('r3', 300)] }, 1000)
    expect(l.usage('alice')).toBe(600)
  })
})
