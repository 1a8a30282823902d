import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ChildProcess } from 'node:child_process'

export interface NodeCafeProcess {
  peerId: string
  /** Its WebSockets multiaddr (…/ws/p2p/<id>): what a browser client dials directly. */
  ws: string
  /** Its secure WebSockets multiaddr (…/tls/ws/p2p/<id>), when started with a certificate: what an HTTPS page dials. */
  wss?: string
  http: string
  /** Calls its owner API (loopback, with the owner secret), as `npm run cafe -- …` does. */
  owner(method: string, path: string, body?: unknown): Promise<{ status: number, body: any }>
  /** The directory it keeps everything in (records/, blocks/). */
  dir: string
  /** Kills the process with SIGKILL (a crash, a power cut) and waits until it is gone. */
  kill(): Promise<void>
  /** Starts it again on the same directory and ports (same peer id and addresses); waits (bounded) until it is up. */
  start(): Promise<void>
  stop(): Promise<void>
}

const sleep = async (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

interface CafeState { peerId: string, multiaddrs: string[], http: string, owner: string }

/** Where it listens: `host`, and WSS too with a certificate and key (PEM files). */
export interface CafeNet { host?: string, cert?: string, key?: string }

/** Runs server/cafe-main.ts on `dir` with these ports (0: any free one) until it wrote cafe.json; bounded. */
async function runCafe (dir: string, ports: { tcp: number, ws: number, wss: number, http: number, owner: number }, relays: string[], timeoutMs: number, net: CafeNet): Promise<{ child: ChildProcess, state: CafeState }> {
  await rm(join(dir, 'cafe.json'), { force: true })
  const tls = net.cert != null && net.key != null ? ['--cert', net.cert, '--key', net.key, '--wss-port', String(ports.wss)] : []
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'server/cafe-main.ts', '--dir', dir, '--host', net.host ?? '127.0.0.1',
    '--tcp-port', String(ports.tcp), '--ws-port', String(ports.ws), '--http-port', String(ports.http), '--owner-port', String(ports.owner), ...tls, '--name', 'Node cafe', ...relays.flatMap(r => ['--relay', r])], { stdio: ['ignore', 'pipe', 'pipe'] })
  let log = ''
  child.stdout?.on('data', (b: Buffer) => { log += b.toString() })
  child.stderr?.on('data', (b: Buffer) => { log += b.toString() })
  const end = Date.now() + timeoutMs
  let state: CafeState | undefined
  while (state == null) {
    if (child.exitCode != null || Date.now() > end) { child.kill('SIGKILL'); throw new Error(`the Node cafe did not start:\n${log}`) }
    state = await readFile(join(dir, 'cafe.json'), 'utf8').then(t => JSON.parse(t)).catch(() => undefined)
    if (state == null) await sleep(100)
  }
  return { child, state }
}

const portOf = (url: string): number => Number(new URL(url).port)

/**
 * `npm run cafe` as a real child process (server/cafe-main.ts) on free ports, reserving a slot on
 * `relays`; waits (bounded) until it is up. `net`: another address than 127.0.0.1, and WSS.
 */
export async function spawnNodeCafe (relays: string[], timeoutMs = 60_000, net: CafeNet = {}): Promise<NodeCafeProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'lightcafe-node-cafe-'))
  let { child, state } = await runCafe(dir, { tcp: 0, ws: 0, wss: 0, http: 0, owner: 0 }, relays, timeoutMs, net)
  const secret = (await readFile(join(dir, 'owner.secret'), 'utf8')).trim()
  const ws = state.multiaddrs.find(ma => /\/tcp\/\d+\/ws\/p2p\//.test(ma) && !ma.includes('p2p-circuit'))
  const wss = state.multiaddrs.find(ma => /\/tcp\/\d+\/(tls\/ws|wss)\/p2p\//.test(ma) && !ma.includes('p2p-circuit'))
  if (ws == null) throw new Error(`the Node cafe listens on no WebSocket: ${state.multiaddrs.join(' ')}`)
  const tcp = state.multiaddrs.find(ma => /\/tcp\/\d+\/p2p\//.test(ma) && !ma.includes('/ws') && !ma.includes('p2p-circuit'))
  // A restart listens where the first run did, so clients redial the addresses they kept.
  const ports = { tcp: Number(/\/tcp\/(\d+)/.exec(tcp ?? '')?.[1] ?? 0), ws: Number(/\/tcp\/(\d+)\/ws/.exec(ws)![1]), wss: Number(/\/tcp\/(\d+)\//.exec(wss ?? '')?.[1] ?? 0), http: portOf(state.http), owner: portOf(state.owner) }
  const s = state
  const exited = async (): Promise<void> => { if (child.exitCode == null && child.signalCode == null) await new Promise<void>(resolve => child.once('exit', () => resolve())) }
  return {
    peerId: s.peerId,
    ws,
    ...(wss != null ? { wss } : {}),
    http: s.http,
    dir,
    kill: async () => {
      child.kill('SIGKILL')
      await exited()
    },
    start: async () => {
      await exited()
      ;({ child, state } = await runCafe(dir, ports, relays, timeoutMs, net))
    },
    owner: async (method, path, body) => {
      const res = await fetch(`${s.owner}/api/v0${path}`, { method, headers: { authorization: `Bearer ${secret}`, ...(body != null ? { 'content-type': 'application/json' } : {}) }, ...(body != null ? { body: JSON.stringify(body) } : {}), signal: AbortSignal.timeout(10_000) })
      const text = await res.text()
      return { status: res.status, body: text === '' ? null : JSON.parse(text) }
    },
    stop: async () => {
      if (child.exitCode == null && child.signalCode == null) {
        const gone = exited()
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
        await gone
        clearTimeout(timer)
      }
      await rm(dir, { recursive: true, force: true })
    }
  }
}
