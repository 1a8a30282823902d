import { describe, expect, it } from 'vitest'
import { banners, joinLink } from './kiosk.ts'

const MiB = 2 ** 20
const live = (relays: boolean[], usage: number, quota: number) => ({ info: { relays: relays.map(connected => ({ connected })) }, storage: { usage, quota } })

describe('kiosk banners', () => {
  it('are empty while a relay is connected and storage has room', () => {
    expect(banners(live([false, true], 10 * MiB, 100 * MiB))).toEqual([])
    expect(banners(live([], 0, 0))).toEqual([]) // no relays configured: nothing to be cut off from
  })
  it('say when every relay is lost and when storage is past 90 %', () => {
    const [cut, full] = banners(live([false, false], 95 * MiB, 100 * MiB))
    expect(cut).toMatch(/^Disconnected from the relays/)
    expect(full).toBe('Storage is nearly full: 95 of 100 MiB used.')
    expect(banners(live([true], 90 * MiB, 100 * MiB))).toEqual([])
  })
})

describe('join links', () => {
  it('carry the cafe and the token as query parameters of the app', () => {
    const url = new URL(joinLink('http://127.0.0.1:8080', '12D3KooWCafe', 'abc.def+/='))
    expect(url.origin + url.pathname).toBe('http://127.0.0.1:8080/')
    expect(url.searchParams.get('join')).toBe('12D3KooWCafe')
    expect(url.searchParams.get('token')).toBe('abc.def+/=')
  })
})
