import { describe, expect, it } from 'vitest'
import { clientAddress, trustedProxy } from './client-address.ts'

describe('the client behind a trusted proxy', () => {
  const proxy = trustedProxy('127.0.0.1, 10.0.0.0/8')

  it('believes the rightmost X-Forwarded-For entry from the proxy, skipping further trusted proxies', () => {
    expect(clientAddress('127.0.0.1', { 'x-forwarded-for': '203.0.113.7' }, proxy)).toBe('203.0.113.7')
    expect(clientAddress('::ffff:127.0.0.1', { 'x-forwarded-for': '203.0.113.7' }, proxy)).toBe('203.0.113.7')
    // A client writes its own header; the proxy appends what it saw: the last word is the proxy's.
    expect(clientAddress('127.0.0.1', { 'x-forwarded-for': '198.51.100.1, 203.0.113.7' }, proxy)).toBe('203.0.113.7')
    expect(clientAddress('127.0.0.1', { 'x-forwarded-for': '198.51.100.1, 203.0.113.7, 10.1.2.3' }, proxy)).toBe('203.0.113.7')
    expect(clientAddress('127.0.0.1', { 'x-forwarded-for': '203.0.113.7:5555' }, proxy)).toBe('203.0.113.7')
    expect(clientAddress('127.0.0.1', { 'x-forwarded-for': '[2001:db8::5]:443' }, proxy)).toBe('2001:db8::5')
    expect(clientAddress('127.0.0.1', { 'x-forwarded-for': '2001:db8::5' }, proxy)).toBe('2001:db8::5')
  })

  it("ignores the header from anyone else, and keeps the proxy's own address when it names nobody usable", () => {
    expect(clientAddress('198.51.100.9', { 'x-forwarded-for': '203.0.113.7' }, proxy)).toBe('198.51.100.9')
    expect(clientAddress('127.0.0.1', { 'x-forwarded-for': '203.0.113.7' }, undefined)).toBe('127.0.0.1')
    for (const junk of ['', 'unknown', '203.0.113.7, nonsense', '999.1.1.1', 'x'.repeat(100)]) {
      expect(clientAddress('127.0.0.1', { 'x-forwarded-for': junk }, proxy), junk).toBe('127.0.0.1')
    }
    expect(clientAddress('127.0.0.1', {}, proxy)).toBe('127.0.0.1')
    // Only the header the proxy sets: a Forwarded header it passed on is the client's own claim.
    expect(clientAddress('127.0.0.1', { forwarded: 'for=203.0.113.7' }, proxy)).toBe('127.0.0.1')
  })

  it('reads RFC 7239 Forwarded when told to', () => {
    const fwd = trustedProxy('::1', 'forwarded')
    expect(clientAddress('::1', { forwarded: 'for=198.51.100.1;proto=https, for="[2001:db8:cafe::17]:4711";by=_proxy' }, fwd)).toBe('2001:db8:cafe::17')
    expect(clientAddress('::1', { forwarded: 'for=203.0.113.7', 'x-forwarded-for': '198.51.100.1' }, fwd)).toBe('203.0.113.7')
    expect(clientAddress('::1', { forwarded: 'for=_hidden' }, fwd)).toBe('::1')
    expect(clientAddress('::1', { forwarded: 'proto=https' }, fwd)).toBe('::1')
  })

  it('refuses a proxy spec that names no address', () => {
    expect(() => trustedProxy('')).toThrow(/needs an address/)
    expect(() => trustedProxy('proxy.example.org')).toThrow(/not an address/)
    expect(() => trustedProxy('10.0.0.0/x')).toThrow(/not an address/)
    expect(() => trustedProxy('127.0.0.1', 'x-real-ip')).toThrow(/proxy-header/)
  })
})
