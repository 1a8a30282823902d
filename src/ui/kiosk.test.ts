import { describe, expect, it } from 'vitest'
import { banners, invitationIn, joinLink } from './kiosk.ts'

const MiB = 2 ** 20
const live = (relays: boolean[], usage: number, quota: number) => ({ info: { relays: relays.map(connected => ({ connected })) }, storage: { usage, quota } })

describe('kiosk banners', () => {
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
})

describe('join links', () => {
  it('carry cafe and token in the fragment (never sent to the server) and keep the page\'s relays', () => {
    const link = joinLink('http://127.0.0.1:8080/?relay=%2Fip4%2F127.0.0.1%2Ftcp%2F9090%2Fws&x=1#overview', '12D3KooWCafe', 'abc.def+/=')
    const url = new URL(link)
    expect(url.origin + url.pathname).toBe('http://127.0.0.1:8080/')
    expect(url.searchParams.getAll('relay')).toEqual(['/ip4/127.0.0.1/tcp/9090/ws'])
    expect(url.searchParams.has('token')).toBe(false)
    expect(url.searchParams.has('x')).toBe(false)
    expect(invitationIn(url.hash)).toEqual({ cafe: '12D3KooWCafe', token: 'abc.def+/=' })
  })
  it('are recognised only when both parts are there', () => {
    expect(invitationIn('#clients')).toBeUndefined()
    expect(invitationIn('#join=abc')).toBeUndefined()
    expect(invitationIn('#join=&token=t')).toBeUndefined()
    expect(invitationIn('')).toBeUndefined()
  })
})
