import { describe, expect, it } from 'vitest'
import { banners } from './banners.ts'

const MiB = 2 ** 20
const live = (relays: boolean[], usage: number, quota: number, attempts = 1) => ({ info: { relays: relays.map((connected, i) => ({ multiaddr: `/ip4/127.0.0.1/tcp/${9090 + i}/ws`, connected, attempts: connected ? 0 : attempts })) }, storage: { usage, quota } })

describe('banners', () => {
  it('are empty while a relay is connected and storage has room', () => {
    expect(banners(live([false, true], 10 * MiB, 100 * MiB))).toEqual([])
    expect(banners(live([], 0, 0))).toEqual([]) // no relays configured: nothing to be cut off from
  })
  it('say when every relay is lost and when storage is past 90 %', () => {
    const [cut, full] = banners(live([false, false], 95 * MiB, 100 * MiB))
    expect(cut.kind).toBe('disconnected')
    expect(cut.text).toMatch(/^Disconnected from the relays/)
    expect(full).toEqual({ kind: 'storage', text: 'Storage is nearly full: 95 of 100 MiB used.' })
    expect(banners(live([true], 90 * MiB, 100 * MiB))).toEqual([])
  })
  it('stay away during the first dial of every relay, and come once one has failed', () => {
    expect(banners(live([false, false], 0, 0, 0))).toEqual([])
    expect(banners(live([false, false], 0, 0, 1)).map(b => b.kind)).toEqual(['disconnected'])
    const refused = { info: { relays: [{ multiaddr: '/ip4/127.0.0.1/tcp/9090/ws', connected: false, attempts: 0, cause: 'refused' as const }] }, storage: { usage: 0, quota: 0 } }
    expect(banners(refused).map(b => b.kind)).toEqual(['disconnected'])
  })
})
