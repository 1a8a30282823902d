import { spawn, spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { accountFromMnemonic, newMnemonic } from '../src/account/index.ts'
import { boxKeyPair } from '../src/account/box.ts'
import { createEnvelope } from '../src/inbox/envelope.ts'
import { toBase64url, utf8 } from '../src/shared/bytes.ts'
import { freePort } from '../test/fixtures/raw-http.ts'
import { call, collect, dag, registerOverHttp } from './test-helpers.ts'
import type { ChildProcess } from 'node:child_process'

/**
 * What the Node cafe acknowledges is on disk first: the real `npm run cafe` process runs under
 * strace, which writes a line for each fsync/fdatasync as the call returns — before the thread
 * that made it goes on to answer. So once an answer has arrived, every sync it waited for is
 * already in the trace: counting them after each answer needs no timing. (Before: 0 syncs in
 * 120 deliveries, a registration and a pin.)
 */

const dirs: string[] = []
const children = new Set<ChildProcess>()
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL')
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

/**
 * strace stops only the traced calls with `--seccomp-bpf` (strace ≥ 5.3), not every syscall of
 * every thread: Node and tsx start under it as fast as without, where plain `-f` made a start
 * on 2 busy cores slow enough to miss its bound once.
 */
const SECCOMP = spawnSync('strace', ['--seccomp-bpf', '-f', '-e', 'trace=fsync', '-o', '/dev/null', 'true']).status === 0
/** Generous: a start under strace on 2 shared cores (measured ~3 s idle). */
const START_MS = 120_000

/** Completed fsync/fdatasync calls in the trace so far (a call strace split in two counts once, when it resumed). */
async function syncs (trace: string): Promise<number> {
  const text = await readFile(trace, 'utf8')
  return text.split('\n').filter(l => /\b(fsync|fdatasync)\(\d+\)\s+= 0$/.test(l) || /<\.\.\. (fsync|fdatasync) resumed>.*= 0$/.test(l)).length
}

describe('the headless cafe acknowledges only what is synced to disk', () => {
  it('syncs before it answers a registration, each delivery and a pin (traced with strace)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lightcafe-durable-'))
    dirs.push(dir)
    const trace = join(dir, 'syncs.trace')
    const ports = { tcp: await freePort(), ws: await freePort(), http: await freePort(), owner: await freePort() }
    const child = spawn('strace', [...(SECCOMP ? ['--seccomp-bpf'] : []), '-f', '-e', 'trace=fsync,fdatasync', '-o', trace, process.execPath, '--import', 'tsx', 'server/cafe-main.ts', '--dir', join(dir, 'cafe'), '--host', '127.0.0.1',
      '--tcp-port', String(ports.tcp), '--ws-port', String(ports.ws), '--http-port', String(ports.http), '--owner-port', String(ports.owner)], { stdio: ['ignore', 'pipe', 'pipe'] })
    children.add(child)
    let out = ''
    child.stdout?.on('data', (b: Buffer) => { out += b.toString() })
    child.stderr?.on('data', (b: Buffer) => { out += b.toString() })
    try {
      const end = Date.now() + START_MS
      while (!out.includes('invite a client')) {
        if (Date.now() > end || child.exitCode != null) throw new Error(`the cafe did not start under strace:\n${out}`)
        await new Promise(resolve => setTimeout(resolve, 100))
      }
      const state = JSON.parse(await readFile(join(dir, 'cafe', 'cafe.json'), 'utf8')) as { peerId: string, http: string, owner: string }
      const owner = { authorization: `Bearer ${(await readFile(join(dir, 'cafe', 'owner.secret'), 'utf8')).trim()}` }
      const { token } = (await call(state.owner, 'POST', '/api/v0/tokens', undefined, owner)).body

      let before = await syncs(trace)
      const alice = await registerOverHttp(state.http, state.peerId, token)
      expect(await syncs(trace) - before, 'syncs while registering').toBeGreaterThanOrEqual(1)

      // Deliveries one at a time: each answer waited for a sync of its own.
      const bob = accountFromMnemonic(newMnemonic())
      const to = { address: alice.account.address, box: toBase64url(boxKeyPair(alice.account.secretKey).publicKey) }
      const DELIVERIES = 20
      let total = 0
      for (let i = 0; i < DELIVERIES; i++) {
        const envelope = await createEnvelope(bob, to, utf8.encode(`message ${i}`))
        before = await syncs(trace)
        const r = await call(state.http, 'POST', '/cafe/v1/inbox', envelope)
        expect(r.status).toBe(202)
        const n = await syncs(trace) - before
        expect(n, `syncs behind delivery ${i}`).toBeGreaterThanOrEqual(1)
        total += n
      }
      console.log(`fsync/fdatasync per acknowledged delivery: ${(total / DELIVERIES).toFixed(2)}`)

      // A pin: every block file, and the folders that gained them, synced before the answer.
      const d = await dag(6, 50_000)
      before = await syncs(trace)
      const res = await fetch(`${state.http}/cafe/v1/uploads`, { method: 'POST', headers: { authorization: `Bearer ${alice.access}`, 'content-type': 'application/vnd.ipld.car' }, body: await collect(d.car()) })
      expect(res.status).toBe(201)
      await res.body?.cancel()
      expect(await syncs(trace) - before, 'syncs behind the pin').toBeGreaterThanOrEqual(d.blocks.size + 1)
    } finally {
      // The cafe itself, not strace (which would only detach from it): it stops, then strace ends.
      const pid = await readFile(join(dir, 'cafe', 'cafe.json'), 'utf8').then(t => (JSON.parse(t) as { pid: number }).pid, () => undefined) ??
        await readFile(trace, 'utf8').then(t => Number(/^(\d+) /.exec(t)?.[1]), () => undefined)
      const exited = new Promise(resolve => { if (child.exitCode != null || child.signalCode != null) resolve(null); else child.once('exit', resolve) })
      if (pid != null && pid > 0) { try { process.kill(pid, 'SIGTERM') } catch { /* gone already */ } } else child.kill('SIGKILL')
      const force = setTimeout(() => { if (pid != null && pid > 0) { try { process.kill(pid, 'SIGKILL') } catch { /* gone */ } } child.kill('SIGKILL') }, 15_000)
      await exited
      clearTimeout(force)
    }
  }, START_MS + 120_000)
})
