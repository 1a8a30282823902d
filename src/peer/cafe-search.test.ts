import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { cafeSearch } from './cafe-search.ts'

const relays = [multiaddr('/ip4/127.0.0.1/tcp/1/ws'), multiaddr('/ip4/127.0.0.1/tcp/2/ws')]

/** Relays' directories that list what `listed` holds now, counting each ask. */
function directories (listed: Map<string, string[]>): { list: (relay: unknown) => Promise<string[]>, asked: () => number } {
  let asked = 0
  return {
    list: async relay => { asked++; const l = listed.get(String(relay)); if (l == null) throw new Error('relay down'); return l },
    asked: () => asked
  }
}

describe('a device\'s cafe search', () => {
  it('reads every relay\'s list, and the same answer serves the next ask once', async () => {
    const listed = new Map([[String(relays[0]), ['a', 'b']], [String(relays[1]), ['b', 'c']]])
    const dir = directories(listed)
    const search = cafeSearch({ directory: dir, relays: () => relays, fetchCafe: async () => new Response(null, { status: 500 }) })
    expect(await search.lists()).toEqual([['a', 'b'], ['b', 'c']])
    listed.set(String(relays[1]), ['b', 'c', 'd'])
    // The warm-up's answer serves the query after it...
    expect(await search.cafes()).toEqual(['a', 'b', 'c'])
    expect(dir.asked()).toBe(2)
    // ...and only that one.
    expect(await search.cafes()).toEqual(['a', 'b', 'c', 'd'])
    expect(dir.asked()).toBe(4)
  })

  it('keeps no empty answer, and leaves out a relay that failed', async () => {
    const listed = new Map<string, string[]>([[String(relays[0]), []]])
    const dir = directories(listed)
    const search = cafeSearch({ directory: dir, relays: () => relays, fetchCafe: async () => new Response(null, { status: 500 }) })
    expect(await search.lists()).toEqual([])
    listed.set(String(relays[0]), ['a'])
    expect(await search.lists()).toEqual([['a']])
    expect(dir.asked()).toBe(4)
  })

  it('asks one cafe through the device\'s own fetch, and reads its answer', async () => {
    const seen: Array<[string, string]> = []
    const search = cafeSearch({
      directory: directories(new Map()),
      relays: () => [],
      fetchCafe: async (cafeId, request) => { seen.push([cafeId, new URL(request.url).pathname]); return Response.json({ results: [] }) }
    })
    expect(await search.ask('cafe1', { name: 'al' })).toEqual({ results: [] })
    expect(seen).toEqual([['cafe1', '/cafe/v1/search']])
  })
})
