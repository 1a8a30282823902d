import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { beforeAll, describe, expect, it } from 'vitest'
import { newQueryId } from '../search/query.ts'
import { createCafeApp } from './app.ts'
import { CafeHost } from './host.ts'
import { SEARCH_FANOUT } from './search-api.ts'
import { MemoryCafeStore } from './store.ts'
import type { AbortOptions } from '@libp2p/interface'

// Twenty real cafe apps that reach each other in memory (libp2p's place), each listing all the
// others as its directory would: every request between cafes is counted.
describe('search fan-out', () => {
  const apps = new Map<string, ReturnType<typeof createCafeApp>>()
  const ids: string[] = []
  let requests: Array<{ from: string, to: string, hops: unknown }> = []

  beforeAll(async () => {
    for (let i = 0; i < 20; i++) ids.push(peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString())
    for (const id of ids) {
      const key = await generateKeyPair('Ed25519')
      const host = new CafeHost({ peerId: id, privateKeyRaw: key.raw, store: new MemoryCafeStore() })
      await host.setSettings({ enabled: true })
      const ask = async (cafe: string, query: Record<string, unknown>, { signal }: AbortOptions): Promise<unknown> => {
        requests.push({ from: id, to: cafe, hops: query.hops })
        const res = await apps.get(cafe)!.fetch(new Request('http://cafe/cafe/v1/search', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(query), signal }), { remotePeer: id })
        return res.json()
      }
      apps.set(id, createCafeApp(host, { services: { search: { index: () => undefined, forward: { cafes: async () => ids, ask } } } }))
    }
  })

  const search = async (cafe: string, body: Record<string, unknown>, asker = 'stranger'): Promise<{ status: number, body: any }> => {
    const res = await apps.get(cafe)!.fetch(new Request('http://cafe/cafe/v1/search', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }), { remotePeer: asker })
    return { status: res.status, body: await res.json() }
  }

  it('costs a bounded number of requests: one hop, to at most maxTargets cafes, none passed on further', async () => {
    requests = []
    const { status, body } = await search(ids[0], { id: newQueryId(), name: 'alice', hops: 1, visited: [], wait: 2000 })
    expect(status).toBe(200)
    expect(requests).toHaveLength(SEARCH_FANOUT.maxTargets)
    expect(requests.every(r => r.from === ids[0] && r.hops === 0 && r.to !== ids[0])).toBe(true)
    expect(body.forwarded).toHaveLength(SEARCH_FANOUT.maxTargets)
  })

  it('passes a query on to cafes drawn from the whole list too, not only the longest listed [issue 24]', async () => {
    // 64 sybils listed first, 936 real cafes after them.
    const listed = [...Array.from({ length: 64 }, (_, i) => `sybil${i}`), ...Array.from({ length: 936 }, (_, i) => `real${i}`)]
    const asked: string[] = []
    const key = await generateKeyPair('Ed25519')
    const host = new CafeHost({ peerId: peerIdFromPrivateKey(key).toString(), privateKeyRaw: key.raw, store: new MemoryCafeStore() })
    await host.setSettings({ enabled: true })
    const app = createCafeApp(host, { services: { search: { index: () => undefined, forward: { cafes: async () => listed, ask: async cafe => { asked.push(cafe); return { results: [] } } } } } })
    const res = await app.fetch(new Request('http://cafe/cafe/v1/search', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: newQueryId(), name: 'alice', hops: 1, wait: 2000 }) }), { remotePeer: 'stranger' })
    expect(res.status).toBe(200)
    expect(asked).toHaveLength(SEARCH_FANOUT.maxTargets)
    // Before: the 8 longest listed, all sybils. Now half come from all 1,000 (a sybil each: 6.4 %).
    expect(asked.filter(c => c.startsWith('real')).length).toBeGreaterThanOrEqual(1)
  })

  it('refuses more hops than one', async () => {
    requests = []
    for (const hops of [2, 3]) {
      const { status, body } = await search(ids[1], { id: newQueryId(), name: 'alice', hops })
      expect([status, body.error.reason]).toEqual([400, 'INVALID_HOPS'])
    }
    expect(requests).toEqual([])
  })

  it('passes on a bounded number of queries a cafe makes in all, whoever asks', async () => {
    requests = []
    // Forty strangers (each within its own rate) ask the same cafe at once.
    const answers = await Promise.all(Array.from({ length: 40 }, async (_, i) => search(ids[2], { id: newQueryId(), name: `q${i}`, hops: 1, wait: 2000 }, `stranger-${i}`)))
    expect(answers.every(a => a.status === 200)).toBe(true)
    expect(requests.length).toBeLessThanOrEqual(SEARCH_FANOUT.forwardBurst * SEARCH_FANOUT.maxTargets + SEARCH_FANOUT.maxTargets)
    expect(answers.filter(a => a.body.forwarded.length === 0).length).toBeGreaterThan(0)
  })
})
