import { describe, expect, it } from 'vitest'
import { SESSION_LIMITS } from './limits.ts'
import { Nonces } from './nonces.ts'

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

  it('are bounded: expired ones are swept, then the oldest dropped when full', () => {
    const n = new Nonces(now, 3)
    const a = n.issue('a').nonce
    clock.ms += SESSION_LIMITS.nonceTtlMs
    const b = n.issue('b').nonce
    expect(n.size).toBe(1) // a expired and was swept
    const c = n.issue('c').nonce
    n.issue('d')
    n.issue('e')
    expect(n.size).toBe(3)
    expect(n.consume('b', b)).toBe(false) // the oldest, dropped for e
    expect(n.consume('c', c)).toBe(true)
    expect(n.consume('a', a)).toBe(false)
  })

  it('are bounded by the configured limit by default', () => {
    const n = new Nonces(now)
    const first = n.issue('x').nonce
    for (let i = 0; i < SESSION_LIMITS.maxPendingNonces; i++) n.issue('x')
    expect(n.size).toBe(SESSION_LIMITS.maxPendingNonces)
    expect(n.consume('x', first)).toBe(false)
  })
})
