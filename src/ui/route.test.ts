import { describe, expect, it } from 'vitest'
import { VIEWS, viewOf } from './route.ts'

describe('dashboard routes', () => {
  it('maps a hash to its view and anything unknown to the overview', () => {
    expect(viewOf('#clients')).toBe('clients')
    expect(viewOf('search')).toBe('search')
    expect(viewOf('')).toBe('overview')
    expect(viewOf('#nope')).toBe('overview')
    expect(viewOf('#__proto__')).toBe('overview')
  })
  it('has one entry per id', () => {
    expect(new Set(VIEWS.map(v => v.id)).size).toBe(VIEWS.length)
  })
})
