import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { loadOrCreateCa } from '../relay/lan/ca.ts'
import { ensureServerCert } from '../relay/lan/certs.ts'
import { ADDR } from './internet.ts'
import type { ChildProcess } from 'node:child_process'
import type { Netns } from './netlab.ts'

/** A process started in a namespace, with its output kept, until `stop()`. */
export interface Running { child: ChildProcess, output: string[], stop(): Promise<void> }

/** Starts `node --import tsx <script> ...args` in `ns` and waits (bounded) for a stdout line that `ready` accepts. */
export async function startNode (ns: Netns, script: string, args: string[], env: Record<string, string>, ready: (line: string) => boolean, timeoutMs = 30_000): Promise<Running & { line: string }> {
  const child = ns.spawn(process.execPath, ['--import', 'tsx', script, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  const output: string[] = []
  createInterface({ input: child.stderr! }).on('line', l => { output.push(l) })
  const lines = createInterface({ input: child.stdout! })
  const stop = async (): Promise<void> => {
    if (child.exitCode != null || child.signalCode != null) return
    const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
    await exited
    clearTimeout(timer)
  }
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${script} did not start in time:\n${output.join('\n')}`)) }, timeoutMs)
    child.once('exit', code => { clearTimeout(timer); reject(new Error(`${script} exited with ${code}:\n${output.join('\n')}`)) })
    lines.on('line', l => {
      output.push(l)
      if (ready(l)) { clearTimeout(timer); resolve(l) }
    })
  })
  return { child, output, line, stop }
}

export interface PublicServers {
  /** The app's origin, `https://203.0.113.10`. */
  appOrigin: string
  /** The relay's announced WSS address (with its peer id). */
  relayAddr: string
  /** The STUN/TURN URLs the relay gives pages. */
  iceUrls: string[][]
  /** The CA every device trusts (PEM file). */
  caFile: string
  relay: Running
  site: Running
  /** coturn's log (no secret or password may ever be in it). */
  turnLog: string
  stop(): Promise<void>
}

/**
 * The public side of a deployment as docs/DEPLOY.md builds it: `npm run relay` with a
 * certificate on 443 (WSS) and coturn beside it on the relay's address, and the static app on
 * its own host over HTTPS with a hand-written relays.json. Certificates come from a test CA.
 */
export async function startPublicServers (ns: Netns, root: string): Promise<PublicServers> {
  const caDir = join(root, 'public-ca')
  const ca = await loadOrCreateCa(caDir, new Date(), [ADDR.app, ADDR.relay])
  await ensureServerCert(caDir, ca, { ips: [ADDR.app, ADDR.relay], dns: [] })
  const [cert, key] = [join(caDir, 'server.pem'), join(caDir, 'server.key')]
  const state = join(root, 'relay-state')
  const relay = await startNode(ns, 'relay/relay-main.ts', [
    '--cert', cert, '--key', key, '--tls-host', ADDR.relay, '--tls-port', '443',
    '--announce', `/ip4/${ADDR.relay}/tcp/443/tls/ws`, '--state-dir', state, '--key-file', join(state, 'relay.key'),
    '--turn-listen', ADDR.relay, '--turn-min-port', '49152', '--turn-max-port', '49652'
  ], {}, l => l.startsWith('{'))
  const announced = JSON.parse(relay.line) as { relay: string[], iceServers: string[][] }
  const relayAddr = announced.relay.find(a => a.startsWith(`/ip4/${ADDR.relay}/tcp/443/tls/ws/p2p/`))!
  const relaysFile = join(root, 'relays.json')
  await writeFile(relaysFile, JSON.stringify({ relays: [relayAddr] }))
  const site = await startNode(ns, 'e2e/public-site.ts', [], { SITE_HOST: ADDR.app, SITE_PORT: '443', SITE_CERT: cert, SITE_KEY: key, SITE_RELAYS_JSON: relaysFile }, l => l.startsWith('site '))
    .catch(async err => { await relay.stop(); throw err })
  return {
    appOrigin: `https://${ADDR.app}`,
    relayAddr,
    iceUrls: announced.iceServers,
    caFile: ca.certFile,
    relay,
    site,
    turnLog: join(state, 'turn', 'turnserver.log'),
    stop: async () => { await Promise.allSettled([relay.stop(), site.stop()]) }
  }
}
