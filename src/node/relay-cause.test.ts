import { describe, expect, it } from 'vitest'
import { isLoopback, relayCause, relayEndpoint } from './relay-cause.ts'

const ID = '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo'
const wss = `/ip4/10.77.0.1/tcp/9443/tls/ws/p2p/${ID}`
const ws = `/ip4/10.77.0.1/tcp/9090/ws/p2p/${ID}`
const loop = `/ip4/127.0.0.1/tcp/9090/ws/p2p/${ID}`
const https = { protocol: 'https:', hostname: '10.77.0.1' }
const http = { protocol: 'http:', hostname: '127.0.0.1' }
const fast = { timedOut: false, everConnected: false }

describe('relay endpoints', () => {
  it('read host, port and TLS from ws, wss and /tls/ws addresses', () => {
    expect(relayEndpoint(wss)).toEqual({ host: '10.77.0.1', port: '9443', secure: true })
    expect(relayEndpoint(`/dns4/cafe.local/tcp/443/wss/p2p/${ID}`)).toEqual({ host: 'cafe.local', port: '443', secure: true })
    expect(relayEndpoint(ws)).toEqual({ host: '10.77.0.1', port: '9090', secure: false })
  })
  it('know loopback hosts', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'app.localhost']) expect(isLoopback(h), h).toBe(true)
    for (const h of ['10.77.0.1', 'cafe.local', '128.0.0.1', 'localhost.example']) expect(isLoopback(h), h).toBe(false)
  })
})

describe('relay failure causes', () => {
  it('a wss relay that fails at once from an https page, never having worked: its certificate', () => {
    expect(relayCause(wss, fast, https)).toBe('certificate')
  })
  it('a wss relay that worked before and fails at once: refused (stopped), not the certificate', () => {
    expect(relayCause(wss, { timedOut: false, everConnected: true }, https)).toBe('refused')
  })
  it('ws from an https page: mixed content, however it failed', () => {
    expect(relayCause(ws, fast, https)).toBe('mixed-content')
    expect(relayCause(ws, { timedOut: true, everConnected: true }, https)).toBe('mixed-content')
  })
  it('ws to loopback from an https loopback page is allowed: refused when it fails', () => {
    expect(relayCause(loop, fast, { protocol: 'https:', hostname: 'localhost' })).toBe('refused')
  })
  it('a loopback relay seen from a page on another host names this device itself', () => {
    expect(relayCause(loop, fast, https)).toBe('loopback')
    expect(relayCause(loop, fast, { protocol: 'http:', hostname: '10.77.0.1' })).toBe('loopback')
  })
  it('a dial past its deadline: timeout; one failing at once on http: refused', () => {
    expect(relayCause(wss, { timedOut: true, everConnected: false }, https)).toBe('timeout')
    expect(relayCause(loop, fast, http)).toBe('refused')
    expect(relayCause(loop, { timedOut: true, everConnected: true }, http)).toBe('timeout')
  })
})
