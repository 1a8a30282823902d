import { describe, expect, it } from 'vitest'
import { SEARCH_LIMITS, SeenQueries, newQueryId, parseQuery } from './query.ts'

const ID = 'AAECAwQFBgcICQoLDA0ODw' // bytes 0..15

describe('parsing a search query', () => {
  it('fills in defaults and a fresh id', () => {
    const query = parseQuery({ name: '  Alice Smith ' })
    expect(query).toMatchObject({ name: 'Alice Smith', limit: SEARCH_LIMITS.defaultLimit, hops: SEARCH_LIMITS.defaultHops, waitMs: SEARCH_LIMITS.defaultWaitMs })
    expect(query.id).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(parseQuery({ name: 'a' }).id).not.toBe(query.id)
    expect(newQueryId()).toMatch(/^[A-Za-z0-9_-]{22}$/)
  })

  it('keeps given values, numbers or digit strings (URL parameters)', () => {
    expect(parseQuery({ name: 'bob', limit: 50, hops: 0, id: ID, wait: 10_000 })).toEqual({ id: ID, name: 'bob', limit: 50, hops: 0, waitMs: 10_000 })
    expect(parseQuery({ name: 'bob', limit: '5', hops: '1', wait: '0' })).toMatchObject({ limit: 5, hops: 1, waitMs: 0 })
  })

  it('refuses a missing, empty, long or control-laden name', () => {
    for (const name of [undefined, 42, '', '   ', 'x'.repeat(65), ' '.repeat(300) + 'a', 'a\u0000b', 'a\nb']) {
      expect(() => parseQuery({ name })).toThrow(expect.objectContaining({ reason: 'INVALID_QUERY', status: 400 }))
    }
    expect(parseQuery({ name: '😀'.repeat(64) }).name).toBe('😀'.repeat(64))
  })

  it('refuses limits, hops and waits out of range or not whole numbers', () => {
    for (const limit of [0, 51, 1.5, -1, '1e1', '', null, NaN, Infinity, '20 ']) {
      expect(() => parseQuery({ name: 'a', limit })).toThrow(expect.objectContaining({ reason: 'INVALID_LIMIT' }))
    }
    for (const hops of [-1, 2, 3, 0.5, '2', true]) {
      expect(() => parseQuery({ name: 'a', hops })).toThrow(expect.objectContaining({ reason: 'INVALID_HOPS' }))
    }
    for (const wait of [-1, 10_001, 'soon']) {
      expect(() => parseQuery({ name: 'a', wait })).toThrow(expect.objectContaining({ reason: 'INVALID_WAIT' }))
    }
  })

  it('refuses ids that are not canonical base64url of 16 bytes', () => {
    for (const id of [42, '', 'short', ID + 'A', ID.slice(0, 21) + '!', 'AAECAwQFBgcICQoLDA0ODx', null]) {
      expect(() => parseQuery({ name: 'a', id })).toThrow(expect.objectContaining({ reason: 'INVALID_QUERY_ID' }))
    }
  })
})

describe('seen query ids', () => {
  it('says true once per id', () => {
    const seen = new SeenQueries()
    expect(seen.firstTime('a')).toBe(true)
    expect(seen.firstTime('a')).toBe(false)
    expect(seen.firstTime('b')).toBe(true)
    expect(seen.size).toBe(2)
  })

  it('forgets the id seen longest ago past its bound', () => {
    const seen = new SeenQueries(3)
    for (const id of ['a', 'b', 'c']) seen.firstTime(id)
    expect(seen.firstTime('a')).toBe(false) // 'a' is now the most recent
    expect(seen.firstTime('d')).toBe(true) // evicts 'b'
    expect(seen.size).toBe(3)
    expect(seen.firstTime('b')).toBe(true) // evicts 'c'
    expect(seen.firstTime('a')).toBe(false)
    expect(seen.firstTime('c')).toBe(true)
  })
})
