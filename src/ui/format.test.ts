import { describe, expect, it } from 'vitest'
import { ago, duration, mib, short } from './format.ts'

describe('dashboard formats', () => {
  it('shortens long ids around an ellipsis and keeps short ones', () => {
    expect(short('12D3KooWAbcdefghijklmnopqrstuvwxyz')).toBe('12D3KooWAb…uvwxyz')
    expect(short('abc')).toBe('abc')
  })
  it('shows MiB with decimals only while small', () => {
    expect(mib(100_000)).toBe('0.10 MiB')
    expect(mib(1024 ** 3)).toBe('1024 MiB')
  })
  it('says how long ago in one unit, then the date', () => {
    const now = Date.parse('2026-12-01T12:00:00Z')
    expect(ago('2026-12-01T11:59:30Z', now)).toBe('just now')
    expect(ago('2026-12-01T11:55:00Z', now)).toBe('5 min ago')
    expect(ago('2026-12-01T09:00:00Z', now)).toBe('3 h ago')
    expect(ago('2026-11-20T09:00:00Z', now)).toBe(new Date('2026-11-20T09:00:00Z').toLocaleDateString())
    expect(ago('not a date', now)).toBe('—')
  })
  it('gives uptime in the two largest units', () => {
    expect(duration(42_400)).toBe('42 s')
    expect(duration((5 * 60 + 3) * 1000)).toBe('5 min 3 s')
    expect(duration((3 * 3600 + 12 * 60 + 9) * 1000)).toBe('3 h 12 min')
    expect(duration((2 * 86400 + 4 * 3600) * 1000)).toBe('2 d 4 h')
    expect(duration(-5)).toBe('0 s')
  })
})
