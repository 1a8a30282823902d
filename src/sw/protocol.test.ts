import { describe, expect, it } from 'vitest'
import { BRIDGE_LIMITS, FORWARDED_PATHS, checkRequestHead, errorResponse } from './protocol.ts'

describe('forwarded paths', () => {
  it('are the node APIs and nothing else', () => {
    for (const p of ['/api/v0', '/api/v0/peer', '/cafe/v1/info', '/ipfs/bafy', '/ipfs']) expect(FORWARDED_PATHS.test(p)).toBe(true)
    for (const p of ['/', '/relays.json', '/api/v1/x', '/api/v0x', '/cafe/v2/x', '/ipfsx', '/assets/ipfs/x']) expect(FORWARDED_PATHS.test(p)).toBe(false)
  })
})

describe('request heads', () => {
  const url = 'http://127.0.0.1:8080/api/v0/peer'

  it('accepts an ordinary request', () => {
    expect(checkRequestHead(url, 'POST', [['content-type', 'application/json'], ['authorization', 'Bearer x.y.z']])).toBeUndefined()
  })

  it('names what is wrong with a malformed or oversized one', () => {
    expect(checkRequestHead(undefined, 'GET', [])?.reason).toBe('BAD_URL')
    expect(checkRequestHead('not a url', 'GET', [])?.reason).toBe('BAD_URL')
    expect(checkRequestHead(url + '?' + 'q'.repeat(BRIDGE_LIMITS.maxUrlLength), 'GET', [])?.reason).toBe('URL_TOO_LONG')
    expect(checkRequestHead(url, 'GE T', [])?.reason).toBe('BAD_METHOD')
    expect(checkRequestHead(url, 'GET', 'x')?.reason).toBe('BAD_HEADERS')
    expect(checkRequestHead(url, 'GET', [['a', 1]])?.reason).toBe('BAD_HEADERS')
    expect(checkRequestHead(url, 'GET', [['a', 'b', 'c']])?.reason).toBe('BAD_HEADERS')
    expect(checkRequestHead(url, 'GET', [['x-big', 'a'.repeat(BRIDGE_LIMITS.maxHeaderBytes)]])?.reason).toBe('HEADERS_TOO_LARGE')
    const many = Array.from({ length: BRIDGE_LIMITS.maxHeaderCount + 1 }, (_, i): [string, string] => [`x-${i}`, '1'])
    expect(checkRequestHead(url, 'GET', many)?.reason).toBe('HEADERS_TOO_LARGE')
  })
})

describe('error responses', () => {
  it('use the API error shape and are never cached', async () => {
    const res = errorResponse('NODE_NOT_READY', 'no node')
    expect(res.status).toBe(503)
    expect(res.headers.get('content-type')).toBe('application/json')
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(await res.json()).toEqual({ error: { reason: 'NODE_NOT_READY', details: 'no node' } })
  })
})
