import { describe, expect, it } from 'vitest'
import { PinIndex } from './pin-index.ts'
import type { PinRecord } from './pin-store.ts'

const pin = (requestid: string, address: string): PinRecord => ({ requestid, address, cid: 'bafy', origins: [], meta: {}, status: 'pinned', created: '2026-12-02T00:00:00.000Z', blocks: [], bytes: 0 })

describe('PinIndex', () => {
  it('finds pins by requestid and by client, and forgets them', () => {
    const index = new PinIndex()
    index.set(pin('a1', 'alice'))
    index.set(pin('a2', 'alice'))
    index.set(pin('b1', 'bob'))
    expect(index.ofClient('alice').map(p => p.requestid)).toEqual(['a1', 'a2'])
    expect([index.countOf('alice'), index.countOf('bob'), index.countOf('carol')]).toEqual([2, 1, 0])
    // Replacing a record keeps one entry.
    index.set({ ...pin('a1', 'alice'), status: 'failed' })
    expect(index.ofClient('alice').map(p => p.status)).toEqual(['failed', 'pinned'])
    expect(index.delete('a1')).toBe(true)
    expect(index.delete('a1')).toBe(false)
    expect(index.has('a1')).toBe(false)
    expect(index.ofClient('alice').map(p => p.requestid)).toEqual(['a2'])
    expect(index.get('b1')?.address).toBe('bob')
    index.delete('b1')
    expect(index.ofClient('bob')).toEqual([])
  })

  it('gives a snapshot: removing while going through a client\'s pins misses none', () => {
    const index = new PinIndex()
    for (let i = 0; i < 5; i++) index.set(pin(`p${i}`, 'alice'))
    for (const p of index.ofClient('alice')) index.delete(p.requestid)
    expect(index.countOf('alice')).toBe(0)
  })
})
