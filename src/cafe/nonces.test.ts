import { describe, expect, it } from 'vitest'
import { SESSION_LIMITS } from './limits.ts'
import { NONCE_LIMITS, Nonces } from './nonces.ts'

describe('challenge nonces', () => {
  const clock = { ms: 1_000_000 }
  const now = (): number => clock.ms

  it('are spent on first use by their address', () => {
    const n = new Nonces(now)
    const { nonce, exp } = n.issue('alice')
    expect(exp).toBe(clock.ms + SESSION_LIMITS.nonceTtlMs)
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(n.consume('alice', nonce)).toBe(true)
    expect(n.consume('alice', nonce)).toBe(false)
    expect(n.consume('alice', 'never-issued')).toBe(false)
  })

  it('belong to one address, and another address cannot burn them', () => {
    const n = new Nonces(now)
    const { nonce } = n.issue('alice')
    expect(n.consume('bob', nonce)).toBe(false)
    expect(n.consume('alice', nonce)).toBe(true)
  })

  it('expire', () => {
    const n = new Nonces(now)
    const { nonce, exp } = n.issue('alice')
    clock.ms = exp
    expect(n.consume('alice', nonce)).toBe(false)
  })

  it('belong to the caller that asked: another peer can neither spend nor burn them', () => {
    const n = new Nonces(now)
    const { nonce } = n.issue('alice', 'alice-peer')
    expect(n.consume('alice', nonce, 'mallory-peer')).toBe(false)
    expect(n.consume('alice', nonce, 'alice-peer')).toBe(true)
  })

  it('survive a flood: 10,000 challenges from one peer are rate-limited and displace only that peer\'s own', () => {
    const n = new Nonces(now)
    const { nonce } = n.issue('alice', 'alice-peer')
    const refused: string[] = []
    for (let i = 0; i < 10_000; i++) {
      try { n.issue(i % 2 === 0 ? 'alice' : `someone-${i}`, 'mallory-peer') } catch (err) { refused.push((err as { reason: string }).reason) }
    }
    expect(refused.length).toBeGreaterThan(9_900)
    expect(new Set(refused)).toEqual(new Set(['RATE_LIMITED']))
    expect(n.size).toBeLessThanOrEqual(1 + NONCE_LIMITS.maxPendingPerCaller)
    expect(n.consume('alice', nonce, 'alice-peer')).toBe(true)
  })

  it('are bounded per caller: its newest replaces its own oldest', () => {
    const n = new Nonces(now, { maxPendingPerCaller: 2 })
    const a = n.issue('a', 'p').nonce
    const b = n.issue('b', 'p').nonce
    const other = n.issue('c', 'q').nonce
    const c = n.issue('c', 'p').nonce
    expect(n.size).toBe(3)
    expect(n.consume('a', a, 'p')).toBe(false)
    expect([n.consume('b', b, 'p'), n.consume('c', c, 'p'), n.consume('c', other, 'q')]).toEqual([true, true, true])
  })

  it('over one shared carrier (HTTP): slots per connection, spent by the carrier, rate per address [issue 24]', () => {
    const n = new Nonces(now, { maxPendingPerCaller: 2 })
    const via = (conn: number, ip = '10.0.0.1'): { slot: string, spender: string, rate: string } => ({ slot: `http#${conn}`, spender: 'http', rate: `http@${ip}` })
    const alice = n.issue('alice', via(1)).nonce
    // A stranger on other connections asks in Alice's name: only its own slots fill and turn over.
    for (let i = 0; i < 5; i++) n.issue('alice', via(2, '10.0.0.2'))
    expect(n.consume('alice', alice, 'libp2p-peer')).toBe(false)
    expect(n.consume('alice', alice, 'http')).toBe(true)
    // The rate is the address's: the stranger's burst is its own.
    for (let i = 0; i < NONCE_LIMITS.rateBurst; i++) n.issue('z', via(10 + i, '10.0.0.3'))
    expect(() => n.issue('z', via(99, '10.0.0.3'))).toThrow(expect.objectContaining({ reason: 'RATE_LIMITED' }))
    expect(n.issue('alice', via(3)).nonce).toMatch(/^[A-Za-z0-9_-]{22}$/)
  })

  it('are bounded in all: when full a new caller is refused, and no pending challenge is evicted', () => {
    const n = new Nonces(now, { maxPending: 3 })
    const held = ['p1', 'p2', 'p3'].map(p => ({ p, nonce: n.issue('alice', p).nonce }))
    expect(() => n.issue('bob', 'p4')).toThrow(expect.objectContaining({ reason: 'CHALLENGES_BUSY', status: 503 }))
    for (const { p, nonce } of held) expect(n.consume('alice', nonce, p)).toBe(true)
    expect(n.issue('bob', 'p4').nonce).toMatch(/^[A-Za-z0-9_-]{22}$/)
    // Expired ones are swept, making room.
    clock.ms += SESSION_LIMITS.nonceTtlMs
    n.issue('x', 'p5')
    n.issue('y', 'p6')
    expect(n.size).toBe(2)
  })
})
