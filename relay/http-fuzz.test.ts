import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadOrCreateCa } from './lan/ca.ts'
import { startSetupServer } from './lan/setup-server.ts'
import { startRelay } from './relay.ts'
import { startStaticServer } from './static-server.ts'
import { freePort, oddRequest, rawExchange } from '../test/fixtures/raw-http.ts'
import type { ChildProcess } from 'node:child_process'

/**
 * Every HTTP server `npm start` runs (the static app server, the LAN setup page, the relay's
 * WebSocket listener) answers what a stranger sends — malformed request lines and targets,
 * broken heads, ambiguous framing — with an answer or a closed connection, never a crash, and
 * keeps serving. Property-based: fast-check writes the requests.
 */

let dir: string
const children = new Set<ChildProcess>()
const uncaught: unknown[] = []
const onUncaught = (err: unknown): void => { uncaught.push(err) }
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lightcafe-http-fuzz-'))
  await writeFile(join(dir, 'index.html'), '<!doctype html><title>app</title>')
  process.on('uncaughtException', onUncaught)
})
afterAll(async () => {
  process.off('uncaughtException', onUncaught)
  for (const c of children) c.kill('SIGKILL')
  await rm(dir, { recursive: true, force: true })
})

/** Requests every run starts with: the two that stopped `npm start`, and their kin. */
const KNOWN_KILLERS = ['/%', '//[', '/%E0%A4%A', '/a%00b', 'http://[', '//'].map(t => [`GET ${t} HTTP/1.1\r\nHost: x\r\n\r\n`] as [string])

/**
 * Runs the odd requests against `port`: no exception escapes, a complete request with a bad
 * target is answered 400, no answer is a 5xx, and after each `healthy` still answers.
 */
async function fuzz (port: number, healthy: () => Promise<boolean>, runs = 60): Promise<void> {
  await fc.assert(fc.asyncProperty(oddRequest, async req => {
    const answer = await rawExchange(port, req, { waitMs: 400 })
    if (uncaught.length > 0) throw new Error(`${String(uncaught[0])} escaped on ${JSON.stringify(req)}`)
    if (answer.status != null && answer.status >= 500) throw new Error(`answered ${answer.status} to ${JSON.stringify(req)}: ${answer.text.slice(0, 200)}`)
    if (KNOWN_KILLERS.some(([k]) => k === req) && answer.status !== 400) throw new Error(`answered ${answer.status ?? 'nothing'} to ${JSON.stringify(req)}`)
    if (!(await healthy())) throw new Error(`stopped serving after ${JSON.stringify(req)}`)
  }), { numRuns: runs, examples: KNOWN_KILLERS })
  expect(uncaught).toEqual([])
}

describe('npm start', () => {
  it('answers GET /% and GET //[ with 400 and keeps serving the app and the relay', async () => {
    const [port, relayPort] = [await freePort(), await freePort()]
    const child = spawn(process.execPath, ['--import', 'tsx', 'relay/start.ts'], {
      env: { ...process.env, PORT: String(port), RELAY_PORT: String(relayPort), LIGHTCAFE_DIST: dir, LIGHTCAFE_STATE_DIR: join(dir, 'state'), LIGHTCAFE_LAN: '0' },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    children.add(child)
    let out = ''
    child.stdout?.on('data', (b: Buffer) => { out += b.toString() })
    child.stderr?.on('data', (b: Buffer) => { out += b.toString() })
    const exited = new Promise<number | null>(resolve => child.once('exit', code => { children.delete(child); resolve(code) }))
    const end = Date.now() + 30_000
    while (!out.includes('Lightcafe is running at')) {
      if (Date.now() > end || child.exitCode != null) throw new Error(`npm start did not come up:\n${out}`)
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    for (const bad of ['/%', '//[', '/%E0%A4%A', '/a%00b']) {
      const answer = await rawExchange(port, `GET ${bad} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`)
      expect(answer.status, `${bad}: ${answer.text}`).toBe(400)
      expect(answer.text).toContain('"reason":"BAD_URL"')
    }
    const relays = await fetch(`http://127.0.0.1:${port}/relays.json`)
    expect(relays.status).toBe(200)
    expect((await relays.json() as { relays: string[] }).relays[0]).toContain(`/tcp/${relayPort}/ws/p2p/`)
    expect(child.exitCode).toBe(null)
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
    expect(out).not.toMatch(/URIError|Invalid URL|Uncaught/)
  }, 60_000)
})

describe('the HTTP servers npm start runs, fuzzed', () => {
  it('the static app server', async () => {
    const web = await startStaticServer({ root: dir, port: 0, relays: () => ['/ip4/127.0.0.1/tcp/1/ws'] })
    try {
      const port = Number(new URL(web.url).port)
      await fuzz(port, async () => (await fetch(`${web.url}/relays.json`)).status === 200)
      // A path that escapes the root, and an unknown file: named refusals, not the shell or a crash.
      expect((await rawExchange(port, 'GET /..%2f..%2f..%2fetc%2fpasswd HTTP/1.1\r\nHost: x\r\n\r\n')).status).toBe(403)
      expect((await fetch(`${web.url}/nope.js`)).status).toBe(404)
      expect((await fetch(`${web.url}/some/route`)).status).toBe(200)
    } finally { await web.stop() }
  }, 120_000)

  it('the LAN setup page', async () => {
    const ca = await loadOrCreateCa(join(dir, 'tls'))
    const setup = await startSetupServer({ host: '127.0.0.1', port: 0, context: { httpsOrigin: 'https://192.168.1.20:8443', hostName: 'tab.local', ca } })
    try {
      const port = Number(new URL(setup.url).port)
      expect((await rawExchange(port, 'GET //[ HTTP/1.1\r\nHost: x\r\n\r\n')).status).toBe(400)
      await fuzz(port, async () => (await fetch(`${setup.url}/setup`)).status === 200)
    } finally { await setup.stop() }
  }, 120_000)

  it("the relay's WebSocket listener", async () => {
    const relay = await startRelay({ port: 0 })
    try {
      const port = Number(/\/tcp\/(\d+)\//.exec(relay.multiaddrs[0])![1])
      await fuzz(port, async () => relay.node.status === 'started' && (await rawExchange(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).status != null, 40)
    } finally { await relay.stop() }
  }, 120_000)
})
