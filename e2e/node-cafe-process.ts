import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ChildProcess } from 'node:child_process'

export interface NodeCafeProcess {
  peerId: string
  /** Its WebSockets multiaddr (…/ws/p2p/<id>): what a browser client dials directly. */
  ws: string
  http: string
  /** Calls its owner API (loopback, with the owner secret), as `npm run cafe -- …` does. */
  owner(method: string, path: string, body?: unknown): Promise<{ status: number, body: any }>
  stop(): Promise<void>
}

const sleep = async (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

/** `npm run cafe` as a real child process (server/cafe-main.ts) on free ports, reserving a slot on `relays`; waits (bounded) until it is up. */
export async function spawnNodeCafe (relays: string[], timeoutMs = 60_000): Promise<NodeCafeProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'lightcafe-node-cafe-'))
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'server/cafe-main.ts', '--dir', dir, '--host', '127.0.0.1',
    '--tcp-port', '0', '--ws-port', '0', '--http-port', '0', '--owner-port', '0', '--name', 'Node cafe', ...relays.flatMap(r => ['--relay', r])], { stdio: ['ignore', 'pipe', 'pipe'] })
  let log = ''
  child.stdout?.on('data', (b: Buffer) => { log += b.toString() })
  child.stderr?.on('data', (b: Buffer) => { log += b.toString() })
  const end = Date.now() + timeoutMs
  let state: { peerId: string, multiaddrs: string[], http: string, owner: string } | undefined
  while (state == null) {
    if (child.exitCode != null || Date.now() > end) { child.kill('SIGKILL'); throw new Error(`the Node cafe did not start:\n${log}`) }
    state = await readFile(join(dir, 'cafe.json'), 'utf8').then(t => JSON.parse(t)).catch(() => undefined)
    if (state == null) await sleep(100)
  }
  const secret = (await readFile(join(dir, 'owner.secret'), 'utf8')).trim()
  const ws = state.multiaddrs.find(ma => /\/tcp\/\d+\/ws\/p2p\//.test(ma) && !ma.includes('p2p-circuit'))
  if (ws == null) throw new Error(`the Node cafe listens on no WebSocket: ${state.multiaddrs.join(' ')}`)
  const s = state
  return {
    peerId: s.peerId,
    ws,
    http: s.http,
    owner: async (method, path, body) => {
      const res = await fetch(`${s.owner}/api/v0${path}`, { method, headers: { authorization: `Bearer ${secret}`, ...(body != null ? { 'content-type': 'application/json' } : {}) }, ...(body != null ? { body: JSON.stringify(body) } : {}), signal: AbortSignal.timeout(10_000) })
      const text = await res.text()
      return { status: res.status, body: text === '' ? null : JSON.parse(text) }
    },
    stop: async () => {
      if (child.exitCode == null) {
        const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
        await exited
        clearTimeout(timer)
      }
      await rm(dir, { recursive: true, force: true })
    }
  }
}
