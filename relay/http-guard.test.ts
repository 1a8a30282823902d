import { mkdtemp, rm } from 'node:fs/promises'
import { request as httpsRequest } from 'node:https'
import { connect as tlsConnect } from 'node:tls'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { certNames } from './lan/addresses.ts'
import { loadOrCreateCa } from './lan/ca.ts'
import { ensureServerCert } from './lan/certs.ts'
import { createGuardedServer } from './http-guard.ts'
import type { GuardedHandler, HttpGuardLimits } from './http-guard.ts'
import { trustedProxy } from './client-address.ts'
import { rawExchange } from '../test/fixtures/raw-http.ts'

/**
 * The guard every Node HTTP server runs behind, on real sockets: over TLS its deadlines are
 * the same as over plain HTTP; per-address caps count loopback too unless a server exempts it;
 * behind a trusted proxy they count the clients it names, an IPv6 /64 as one.
 * Limits are shortened; no test asserts how long anything took.
 */

let dir: string
let tls: { cert: string, key: string, ca: string }
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lightcafe-guard-'))
  const ca = await loadOrCreateCa(dir)
  const cert = await ensureServerCert(dir, ca, certNames(['127.0.0.1']))
  tls = { cert: cert.cert, key: cert.key, ca: ca.pem }
}, 30_000)
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

const SHORT: Partial<HttpGuardLimits> = { headersTimeoutMs: 300, checkEveryMs: 100, keepAliveTimeoutMs: 300, idleMs: 4_000, lingerMs: 200 }

async function listen (handler: GuardedHandler, opts: Parameters<typeof createGuardedServer>[1]): Promise<{ server: Server, port: number, stop: () => Promise<void> }> {
  const server = createGuardedServer(handler, opts)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', () => resolve()))
  return {
    server,
    port: (server.address() as AddressInfo).port,
    stop: async () => { server.closeAllConnections(); await new Promise<void>(resolve => server.close(() => resolve())) }
  }
}

const later = async <T>(ms: number, value: T): Promise<T> => new Promise(resolve => setTimeout(() => resolve(value), ms))

describe('HTTPS behind the guard', () => {
  it('answers a request slower than the first-head limit (before: "socket hang up" at that limit) [issue 24]', async () => {
    const slowMs = 3 * SHORT.headersTimeoutMs!
    const web = await listen(async (_req, res) => { await later(slowMs, null); res.end('late but whole') }, { tls, limits: SHORT })
    try {
      const answer = await new Promise<string>((resolve, reject) => {
        const req = httpsRequest({ host: '127.0.0.1', port: web.port, path: '/', ca: tls.ca }, res => {
          let text = ''
          res.on('data', d => { text += d })
          res.on('end', () => { resolve(text) })
        })
        req.on('error', reject)
        req.setTimeout(20_000, () => { req.destroy(new Error('no answer in 20 s')) })
        req.end()
      })
      expect(answer).toBe('late but whole')
    } finally { await web.stop() }
  }, 30_000)

  it('still closes a connection that never finishes its handshake, and one that sends no head after it', async () => {
    const web = await listen((_req, res) => { res.end('ok') }, { tls, limits: SHORT })
    try {
      // Raw TCP, no ClientHello.
      const silent = await rawExchange(web.port, [], { waitMs: 10_000 })
      expect(silent.closed).toBe(true)
      // A finished handshake, then nothing.
      const closed = await new Promise<boolean>(resolve => {
        const socket = tlsConnect({ host: '127.0.0.1', port: web.port, ca: tls.ca })
        const timer = setTimeout(() => { socket.destroy(); resolve(false) }, 10_000)
        socket.on('close', () => { clearTimeout(timer); resolve(true) })
        socket.on('error', () => {})
      })
      expect(closed).toBe(true)
    } finally { await web.stop() }
  }, 30_000)
})

/** Opens `n` silent connections and reports how many the server refused by name within a bound. */
async function refusedOf (port: number, n: number): Promise<number> {
  const answers = await Promise.all(Array.from({ length: n }, async () => rawExchange(port, '', { waitMs: 1_500 })))
  return answers.filter(a => a.text.includes('TOO_MANY_CONNECTIONS')).length
}

describe('per-address connection caps', () => {
  it('count loopback like any address unless the server exempts it (a proxy on this host carries everyone) [issue 24]', async () => {
    const limits = { ...SHORT, headersTimeoutMs: 5_000, connectionsPerAddress: 3 }
    const capped = await listen((_req, res) => { res.end('ok') }, { limits })
    const exempt = await listen((_req, res) => { res.end('ok') }, { limits: { ...limits, exempt: a => a.startsWith('127.') } })
    try {
      // Silent connections held open: three pass, the others are refused by name.
      expect(await refusedOf(capped.port, 6)).toBe(3)
      expect(await refusedOf(exempt.port, 6)).toBe(0)
    } finally { await Promise.all([capped.stop(), exempt.stop()]) }
  }, 30_000)

  it('behind a trusted proxy count requests in flight per client it names, an IPv6 /64 as one [issue 24]', async () => {
    const limits = { ...SHORT, idleMs: 10_000, connectionsPerAddress: 2 }
    const held: Array<() => void> = []
    const web = await listen(async (req, res) => {
      if (req.url === '/hold') await new Promise<void>(resolve => held.push(resolve))
      res.end()
    }, { limits, trustedProxy: trustedProxy('127.0.0.1') })
    const ask = async (path: string, client: string): Promise<number | undefined> =>
      (await rawExchange(web.port, `GET ${path} HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: ${client}\r\nConnection: close\r\n\r\n`, { waitMs: 300 })).status
    try {
      // Two requests held for one client, each on its own connection from the proxy (never refused: it carries everyone).
      const holds = [ask('/hold', '2001:db8:0:1::1'), ask('/hold', '2001:db8:0:1::2')]
      for (let i = 0; i < 100 && held.length < 2; i++) await later(20, null)
      expect(held).toHaveLength(2)
      // A third from the same /64 is refused; another /64 and another client are not.
      expect(await ask('/', '2001:db8:0:1::3')).toBe(503)
      expect(await ask('/', '2001:db8:0:2::1')).toBe(200)
      expect(await ask('/', '203.0.113.7')).toBe(200)
      for (const release of held) release()
      await Promise.all(holds)
      // Answered: the client's budget is back.
      expect(await ask('/', '2001:db8:0:1::3')).toBe(200)
    } finally { for (const release of held) release(); await web.stop() }
  }, 30_000)
})

describe('the client address a handler is given', () => {
  it("is the proxy's named client only for the trusted proxy's connections", async () => {
    const seen: string[] = []
    const handler: GuardedHandler = (_req, res, { from }) => { seen.push(from); res.end() }
    const trusting = await listen(handler, { trustedProxy: trustedProxy('127.0.0.1') })
    const other = await listen(handler, { trustedProxy: trustedProxy('192.0.2.1') })
    try {
      const head = 'GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.7\r\nConnection: close\r\n\r\n'
      expect((await rawExchange(trusting.port, head)).status).toBe(200)
      expect((await rawExchange(other.port, head)).status).toBe(200)
      expect(seen).toEqual(['203.0.113.7', '127.0.0.1'])
    } finally { await Promise.all([trusting.stop(), other.stop()]) }
  })
})
