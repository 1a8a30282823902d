import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { accountFromMnemonic, newMnemonic } from '../src/account/index.ts'
import { trustedProxy } from '../relay/client-address.ts'
import { createHttpCarrier } from './http-carrier.ts'
import { startNodeCafe } from './node-cafe.ts'
import { call } from './test-helpers.ts'
import type { NodeCafe } from './node-cafe.ts'

/**
 * The Node cafe's HTTP port and where a caller comes from: an IPv6 /64 is one caller (one host
 * is given a whole /64), and behind a reverse proxy on this host (`--trusted-proxy 127.0.0.1`)
 * each client the proxy names is one, never the proxy as a whole. Two real Node cafes on
 * loopback: one trusting loopback as its proxy, one trusting nobody.
 */

let dir: string
let proxied: NodeCafe
let plain: NodeCafe
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lightcafe-proxy-'))
  const ports = { tcp: 0, ws: 0, http: 0, owner: 0 }
  proxied = await startNodeCafe({ dir: join(dir, 'proxied'), host: '127.0.0.1', ports, trustedProxy: trustedProxy('127.0.0.1') })
  plain = await startNodeCafe({ dir: join(dir, 'plain'), host: '127.0.0.1', ports })
  for (const n of [proxied, plain]) {
    const owner = { authorization: `Bearer ${(await readFile(n.ownerSecretFile, 'utf8')).trim()}` }
    await call(n.owner.url, 'PUT', '/api/v0/cafe', { enabled: true }, owner)
  }
}, 60_000)
afterAll(async () => {
  await Promise.all([proxied?.stop(), plain?.stop()])
  await rm(dir, { recursive: true, force: true })
})

const address = accountFromMnemonic(newMnemonic()).address
/** Challenges allowed in a burst from one caller (NONCE_LIMITS.rateBurst). */
const BURST = 10

describe('rate limits over HTTP count callers by where they come from [issue 24]', () => {
  it('behind a trusted proxy: per client it names, one IPv6 /64 as one client', async () => {
    const ask = async (client: string): Promise<number> => (await call(proxied.http.url, 'POST', '/cafe/v1/sessions/challenge', { address }, { 'x-forwarded-for': client })).status
    // One /64, a fresh address each time: it is still one caller (before: every address its own budget).
    const statuses = []
    for (let i = 1; i <= BURST + 1; i++) statuses.push(await ask(`2001:db8:0:1::${i}`))
    expect(statuses.slice(0, BURST)).toEqual(Array(BURST).fill(200))
    expect(statuses[BURST]).toBe(429)
    // Another /64, and an IPv4 client, each have their own.
    expect(await ask('2001:db8:0:2::1')).toBe(200)
    expect(await ask('203.0.113.7')).toBe(200)
  })

  it("without a trusted proxy the header is a stranger's word: everyone on loopback is one caller", async () => {
    const statuses = []
    for (let i = 1; i <= BURST + 1; i++) statuses.push((await call(plain.http.url, 'POST', '/cafe/v1/sessions/challenge', { address }, { 'x-forwarded-for': `203.0.113.${i}` })).status)
    expect(statuses[BURST]).toBe(429)
  })

  it('an IPv6 caller straight to the port counts by its /64', async () => {
    // The carrier as the fetch server calls it, with the addresses a socket would report.
    const carrier = createHttpCarrier(plain.cafe, { startedAt: '', peerId: plain.libp2p.peerId.toString(), version: '' })
    const ask = async (remoteAddress: string, connection: number): Promise<number> =>
      (await carrier(new Request(`${plain.http.url}/cafe/v1/sessions/challenge`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ address }) }), { remoteAddress, connection })).status
    const statuses = []
    for (let i = 1; i <= BURST + 1; i++) statuses.push(await ask(`2001:db8:0:3:${i.toString(16)}::1`, 1000 + i))
    expect(statuses.slice(0, BURST)).toEqual(Array(BURST).fill(200))
    expect(statuses[BURST]).toBe(429)
    expect(await ask('2001:db8:0:4::1', 2000)).toBe(200)
  })
})
