import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { accountFromMnemonic, newMnemonic } from '../src/account/index.ts'
import { boxKeyPair } from '../src/account/box.ts'
import { createEnvelope } from '../src/inbox/envelope.ts'
import { toBase64url, utf8 } from '../src/shared/bytes.ts'
import { oddRequest, rawExchange } from '../test/fixtures/raw-http.ts'
import { startNodeCafe } from './node-cafe.ts'
import { call, registerOverHttp } from './test-helpers.ts'
import type { HttpSession } from './test-helpers.ts'
import type { NodeCafe } from './node-cafe.ts'
import type { Socket } from 'node:net'

/**
 * The Node cafe's HTTP port against what strangers send: malformed request lines and heads,
 * ambiguous framing, slow and silent clients, too many connections. No crash, no 5xx, every
 * refusal stores nothing, and no connection is held past its limit. Limits are short here
 * (hundreds of ms); each test waits for a limit to fire, none asserts how long anything took.
 */

let dir: string
let node: NodeCafe
let owner: Record<string, string>
let alice: HttpSession
let port: number
const uncaught: unknown[] = []
const onUncaught = (err: unknown): void => { uncaught.push(err) }

const LIMITS = { headersTimeoutMs: 500, checkEveryMs: 100, keepAliveTimeoutMs: 500, idleMs: 1_000, lingerMs: 300, connectionsPerAddress: 20, connections: 150, exempt: () => false }

beforeAll(async () => {
  process.on('uncaughtException', onUncaught)
  dir = await mkdtemp(join(tmpdir(), 'lightcafe-http-fuzz-'))
  node = await startNodeCafe({ dir, host: '127.0.0.1', ports: { tcp: 0, ws: 0, http: 0, owner: 0 }, httpLimits: LIMITS })
  owner = { authorization: `Bearer ${(await readFile(node.ownerSecretFile, 'utf8')).trim()}` }
  await call(node.owner.url, 'PUT', '/api/v0/cafe', { enabled: true }, owner)
  const { token } = (await call(node.owner.url, 'POST', '/api/v0/tokens', undefined, owner)).body
  alice = await registerOverHttp(node.http.url, node.libp2p.peerId.toString(), token)
  port = node.http.port
}, 60_000)
afterAll(async () => {
  process.off('uncaughtException', onUncaught)
  await node?.stop()
  await rm(dir, { recursive: true, force: true })
})

/** What the cafe keeps, as its owner sees it and on disk: must not change on a refusal. */
async function kept (): Promise<string> {
  const clients = (await call(node.owner.url, 'GET', '/api/v0/clients', undefined, owner)).body as Array<Record<string, unknown>>
  const blocks = (await readdir(join(dir, 'blocks'), { recursive: true })).filter(n => n.endsWith('.data')).sort()
  return JSON.stringify({ clients: clients.map(({ lastSeen: _, ...rest }) => rest), blocks })
}

/** Sockets to the port, each silent (or doing `then`), resolved with whether the server closed each within `ms`. */
async function held (count: number, ms: number, then?: (s: Socket) => void): Promise<{ open: number, refused: number }> {
  const sockets = await Promise.all(Array.from({ length: count }, async () => new Promise<{ s: Socket, closed: Promise<string> }>((resolve, reject) => {
    const s = connect(port, '127.0.0.1')
    let got = ''
    s.on('data', d => { got += d.toString() })
    const closed = new Promise<string>(resolve => s.once('close', () => { resolve(got) }))
    s.once('error', () => {})
    s.once('connect', () => { then?.(s); resolve({ s, closed }) })
    s.once('error', reject)
  })))
  const results = await Promise.all(sockets.map(async ({ s, closed }) => Promise.race([closed, new Promise<undefined>(resolve => setTimeout(resolve, ms))]).finally(() => s.destroy())))
  return { open: results.filter(r => r === undefined).length, refused: results.filter(r => r?.includes('TOO_MANY_CONNECTIONS') === true).length }
}

const connections = async (): Promise<number> => new Promise((resolve, reject) => { node.http.server.getConnections((err, n) => { if (err != null) reject(err); else resolve(n) }) })

/** Waits (bounded) until the server holds no connection. */
async function drained (): Promise<void> {
  for (let i = 0; i < 100 && await connections() > 0; i++) await new Promise(resolve => setTimeout(resolve, 50))
  expect(await connections()).toBe(0)
}

describe("the Node cafe's HTTP port, fuzzed", () => {
  it('answers odd requests without a crash or a 5xx, stores nothing, and keeps serving', async () => {
    const before = await kept()
    await fc.assert(fc.asyncProperty(oddRequest, async req => {
      const answer = await rawExchange(port, req, { waitMs: 300 })
      if (uncaught.length > 0) throw new Error(`${String(uncaught[0])} escaped on ${JSON.stringify(req)}`)
      if (answer.status != null && answer.status >= 500) throw new Error(`answered ${answer.status} to ${JSON.stringify(req)}: ${answer.text.slice(0, 300)}`)
      if ((await call(node.http.url, 'GET', '/health')).status !== 200) throw new Error(`stopped serving after ${JSON.stringify(req)}`)
    }), { numRuns: 80, examples: [['GET //[ HTTP/1.1\r\nHost: x\r\n\r\n'], ['GET /cafe/v1/% HTTP/1.1\r\nHost: x\r\n\r\n'], ['POST /cafe/v1/info HTTP/1.1\r\nHost: [\r\n\r\n']] })
    expect(await kept()).toBe(before)
    const bad = await rawExchange(port, 'GET //[ HTTP/1.1\r\nHost: x\r\n\r\n')
    expect(bad.status).toBe(400)
    expect(bad.text).toContain('BAD_URL')
  }, 120_000)

  it('refuses ambiguous framing of a valid delivery and stores nothing; the same delivery framed plainly is stored', async () => {
    const bob = accountFromMnemonic(newMnemonic())
    const contact = { address: alice.account.address, box: toBase64url(boxKeyPair(alice.account.secretKey).publicKey) }
    const body = async (): Promise<string> => JSON.stringify(await createEnvelope(bob, contact, utf8.encode('hi')))
    const head = (extra: string, len: number): string => `POST /cafe/v1/inbox HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${extra.replace('LEN', String(len))}\r\n\r\n`
    const before = await kept()
    for (const framing of ['Content-Length: LEN\r\nTransfer-Encoding: chunked', 'Content-Length: LEN\r\nContent-Length: 5', 'Transfer-Encoding: chunked\r\nTransfer-Encoding: identity', 'Content-Length: LEN\r\nContent-Length: LEN0', 'Content-Length: +LEN', 'Transfer-Encoding: xchunked']) {
      const b = await body()
      const chunked = `${b.length.toString(16)}\r\n${b}\r\n0\r\n\r\n`
      const answer = await rawExchange(port, head(framing, b.length) + (framing.includes('chunked') ? chunked : b), { waitMs: 1_000 })
      expect(answer.status ?? 'closed', `${framing}: ${answer.text}`).not.toBe(202)
      expect(answer.status == null || answer.status < 500, `${framing}: ${answer.text}`).toBe(true)
    }
    expect(await kept()).toBe(before)
    const b = await body()
    const plain = await rawExchange(port, head('Content-Length: LEN\r\nConnection: close', Buffer.byteLength(b)) + b)
    expect(plain.status, plain.text).toBe(202)
    expect(await kept()).not.toBe(before)
  }, 60_000)

  it('closes silent connections, slow heads and a body trickled after the answer; caps connections per address', async () => {
    // 100 silent clients: none left open once the first-head limit passed (before: all 100, 125 s later).
    const silent = await held(100, LIMITS.headersTimeoutMs * 6)
    expect(silent.open).toBe(0)
    // A head sent a byte at a time, slower than it may take.
    const slow = await rawExchange(port, [...'GET /health HTTP/1.1\r\nHost: x\r\n\r\n'], { gapMs: 100, waitMs: 8_000 })
    expect(slow.closed).toBe(true)
    expect(slow.status === undefined || slow.status === 408).toBe(true)
    // An upload refused before its body is read (no session), its body trickled on afterwards.
    const trickled = await rawExchange(port, ['POST /cafe/v1/uploads HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n', ...Array.from({ length: 200 }, () => 'x')], { gapMs: 50, waitMs: 8_000 })
    expect(trickled.status).toBe(401)
    expect(trickled.closed).toBe(true)
    // An idle keep-alive connection is closed by the keep-alive limit.
    const idle = await rawExchange(port, 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n', { waitMs: 8_000 })
    expect(idle.status).toBe(200)
    expect(idle.closed).toBe(true)
    // Per address: 20 held, the rest refused by name (once the connections above are gone).
    // Each socket is waited for until it closes (the held ones at the first-head limit), so a
    // refusal that comes late under load is still counted.
    await drained()
    const many = await held(30, 20_000)
    expect(many.open).toBe(0)
    expect(many.refused).toBe(10)
    await drained()
    expect((await call(node.http.url, 'GET', '/health')).status).toBe(200)
    expect(uncaught).toEqual([])
  }, 60_000)
})
