import { describe, expect, it } from 'vitest'
import { BENCH_GROUPS, selectGroups } from './groups.ts'

describe('selectGroups', () => {
  it('runs every group when BENCH_ONLY is unset or empty', () => {
    for (const only of [undefined, '', ' ']) expect(BENCH_GROUPS.every(selectGroups(only))).toBe(true)
  })
  it('runs only the named groups', () => {
    const want = selectGroups('inbox, search')
    expect(BENCH_GROUPS.filter(want)).toEqual(['inbox', 'search'])
  })
  it('has the headless Node cafe as a group, last (it runs after the browser closes)', () => {
    expect(BENCH_GROUPS.filter(selectGroups('node-cafe'))).toEqual(['node-cafe'])
    expect(BENCH_GROUPS.at(-1)).toBe('node-cafe')
  })
  it('refuses an unknown name instead of running nothing', () => {
    expect(() => selectGroups('inbox,serch')).toThrow(/unknown group serch/)
  })
})
