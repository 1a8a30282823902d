import { describe, expect, it } from 'vitest'
import { ROLE_KEY, homeView, impliedRole, navOrder, storeRole, storedRole } from './role.ts'
import { viewOf } from './route.ts'

const memory = (): Storage => {
  const m = new Map<string, string>()
  return { getItem: k => m.get(k) ?? null, setItem: (k, v) => { m.set(k, v) } } as Storage
}

describe('the device\'s role', () => {
  it('is none on a fresh profile, then what was chosen; anything else stored is none', () => {
    const s = memory()
    expect(storedRole(s)).toBeUndefined()
    storeRole('guest', s)
    expect(storedRole(s)).toBe('guest')
    s.setItem(ROLE_KEY, 'admin')
    expect(storedRole(s)).toBeUndefined()
    const refusing = { getItem: () => { throw new Error('SecurityError') } }
    expect(storedRole(refusing)).toBeUndefined()
  })
  it('is implied by a profile already set up: cafe mode on, or registered with a cafe', () => {
    expect(impliedRole({ settings: { enabled: true }, cafes: [{}] })).toBe('cafe')
    expect(impliedRole({ settings: { enabled: false }, cafes: [{}] })).toBe('guest')
    expect(impliedRole({ settings: { enabled: false }, cafes: [] })).toBeUndefined()
  })
  it('orders the nav and picks the home view: a guest\'s own views first', () => {
    expect(navOrder('guest')).toEqual(['me', 'cafe'])
    expect(navOrder('cafe')).toEqual(['cafe', 'me'])
    expect(navOrder('all')).toEqual(['cafe', 'me'])
    expect(viewOf('', homeView('guest'))).toBe('cafes')
    expect(viewOf('#backups', homeView('guest'))).toBe('backups')
    expect(viewOf('', homeView('cafe'))).toBe('overview')
  })
})
