import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { Agent, request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { accountFromMnemonic, newMnemonic, registrationMessage } from '../src/account/index.ts'
import { toBase64url } from '../src/shared/bytes.ts'
import { rawExchange } from '../test/fixtures/raw-http.ts'
import { startNodeCafe } from './node-cafe.ts'
import { call } from './test-helpers.ts'
import type { NodeCafe } from './node-cafe.ts'

/**
 * Strangers over the Node cafe's plain HTTP port, interfering with others: challenges asked in
 * someone else's name, a web page's cross-site requests, forged log lines. A real Node cafe on
 * loopback; each stranger and each client on its own connections.
 */

let dir: string
let node: NodeCafe
let owner: Record<string, string>
const logged: string[] = []

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lightcafe-strangers-'))
  node = await startNodeCafe({ dir, host: '127.0.0.1', ports: { tcp: 0, ws: 0, http: 0, owner: 0 }, log: line => { logged.push(line) } })
  owner = { authorization: `Bearer ${(await readFile(node.ownerSecretFile, 'utf8')).trim()}` }
  await call(node.owner.url, 'PUT', '/api/v0/cafe', { enabled: true }, owner)
}, 60_000)
afterAll(async () => {
  await node?.stop()
  await rm(dir, { recursive: true, force: true })
})

/** A JSON POST over a given agent (its own keep-alive connection), as a script or pinning client sends it. */
async function post (agent: Agent, path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number, body: any }> {
  const text = JSON.stringify(body)
  return new Promise((resolve, reject) => {
    const req = request(`${node.http.url}${path}`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers } }, res => {
      let out = ''
      res.on('data', d => { out += d })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: out === '' ? null : JSON.parse(out) }) })
    })
    req.on('error', reject)
    req.setTimeout(20_000, () => { req.destroy(new Error('timed out')) })
    req.end(text)
  })
}

describe('HTTP strangers', () => {
  it("cannot evict a client's pending challenge by asking in its name [issue 24]", async () => {
    const { token } = (await call(node.owner.url, 'POST', '/api/v0/tokens', undefined, owner)).body
    const alice = accountFromMnemonic(newMnemonic())
    const mine = new Agent({ keepAlive: true, maxSockets: 1 })
    const theirs = new Agent({ keepAlive: false })
    try {
      const { body: { nonce } } = await post(mine, '/cafe/v1/sessions/challenge', { address: alice.address })
      // Before: the fifth challenge any HTTP caller asked replaced Alice's oldest (one identity, `http`).
      for (let i = 0; i < 6; i++) expect((await post(theirs, '/cafe/v1/sessions/challenge', { address: alice.address })).status).toBe(200)
      const sig = toBase64url(alice.sign(registrationMessage(node.libp2p.peerId.toString(), alice.address, nonce)))
      const registered = await post(mine, '/cafe/v1/sessions', { address: alice.address, token, nonce, sig })
      expect(registered.status, JSON.stringify(registered.body)).toBe(201)
    } finally { mine.destroy(); theirs.destroy() }
  })

  it('a challenge spends from another connection too (a curl per step), once', async () => {
    const { token } = (await call(node.owner.url, 'POST', '/api/v0/tokens', undefined, owner)).body
    const bob = accountFromMnemonic(newMnemonic())
    const each = new Agent({ keepAlive: false })
    try {
      const { body: { nonce } } = await post(each, '/cafe/v1/sessions/challenge', { address: bob.address })
      const sig = toBase64url(bob.sign(registrationMessage(node.libp2p.peerId.toString(), bob.address, nonce)))
      expect((await post(each, '/cafe/v1/sessions', { address: bob.address, token, nonce, sig })).status).toBe(201)
      expect((await post(each, '/cafe/v1/sessions', { address: bob.address, token, nonce, sig })).body.error.reason).toBe('NONCE_INVALID')
    } finally { each.destroy() }
  })

  it("refuses a web page's cross-site requests: JSON only as application/json, no foreign Origin but on open routes [issue 24]", async () => {
    const agent = new Agent({ keepAlive: false })
    const address = accountFromMnemonic(newMnemonic()).address
    try {
      // A "simple" request any page may send without a preflight: before, taken as JSON.
      const simple = await post(agent, '/cafe/v1/sessions/challenge', { address }, { 'content-type': 'text/plain;application/json' })
      expect(simple.status).toBe(400)
      expect(simple.body.error.reason).toBe('INVALID_CONTENT_TYPE')
      expect((await post(agent, '/cafe/v1/sessions/challenge', { address }, { 'content-type': 'Application/JSON; charset=utf-8' })).status).toBe(200)
      // A page of another site, even with the right type (its preflight would fail, but a no-cors or misbehaving client is refused here).
      for (const headers of [{ origin: 'https://evil.example' }, { origin: 'null' }, { 'sec-fetch-site': 'cross-site' }] as Array<Record<string, string>>) {
        const r = await post(agent, '/cafe/v1/inbox', { id: 'x' }, headers)
        expect(r.status).toBe(403)
        expect(r.body.error.reason).toBe('CROSS_SITE_REFUSED')
      }
      // Open to other sites: the cafe's public info and health.
      for (const path of ['/cafe/v1/info', '/health']) {
        const r = await fetch(`${node.http.url}${path}`, { headers: { origin: 'https://app.example' } })
        expect(r.status).toBe(200)
        await r.body?.cancel()
      }
    } finally { agent.destroy() }
  })

  it('cannot forge lines or send escapes into the log [issue 24]', async () => {
    logged.length = 0
    const answer = await rawExchange(node.http.port, 'POST /cafe/v1/pins/x%0A12:00:00%20registration%20201%20POST%20%2Fsessions%1B[2J%E2%80%AE HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
    expect([401, 404]).toContain(answer.status)
    const mine = logged.filter(l => l.includes('/pins/x'))
    expect(mine).toHaveLength(1)
    // Before: a newline and a raw escape in the line, a forged "registration" line after it.
    // eslint-disable-next-line no-control-regex -- control characters are what this checks for
    for (const line of logged) expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/)
    expect(mine[0]).toContain('\\n12:00:00 registration 201')
    expect(mine[0]).toContain('\\x1b[2J')
  })
})
