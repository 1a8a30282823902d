import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { ownByInvoker } from '../state-files.ts'
import { stunProbe } from './stun-probe.ts'
import type { ChildProcess } from 'node:child_process'

/** Where Debian's coturn puts its server (TURNSERVER_PATH overrides). */
export function turnserverPath (env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = env.TURNSERVER_PATH != null ? [env.TURNSERVER_PATH] : ['/usr/bin/turnserver', '/usr/sbin/turnserver']
  return candidates.find(p => existsSync(p))
}

/**
 * Peers a TURN server on a public host must never relay to: its own loopback and private
 * networks (a TURN server would otherwise be a proxy into them). LAN mode allows private ones:
 * there every peer is on a private network.
 */
export const PRIVATE_PEER_RANGES = [
  '0.0.0.0-0.255.255.255', '10.0.0.0-10.255.255.255', '100.64.0.0-100.127.255.255', '127.0.0.0-127.255.255.255',
  '169.254.0.0-169.254.255.255', '172.16.0.0-172.31.255.255', '192.168.0.0-192.168.255.255',
  '::1', 'fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff'
] as const

export interface CoturnInit {
  /** `.lightcafe`: coturn's files go in `<stateDir>/turn/` (config, secret, log, pid). */
  stateDir: string
  /** Addresses to listen on (none: every address). */
  listen: string[]
  /** STUN/TURN port, UDP and TCP (0: a free one). */
  port: number
  /** UDP ports for relayed traffic (coturn's default 49152–65535). */
  minPort?: number
  maxPort?: number
  /** `public[/private]` when the host is behind a 1:1 NAT (cloud VMs). */
  externalIp?: string
  /** LAN mode: peers on private networks may be relayed to. */
  allowPrivatePeers?: boolean
  /** Allocations at once: per credential (one page) and in all; bytes/s per allocation (0: no limit). */
  userQuota?: number
  totalQuota?: number
  maxBps?: number
  binary?: string
}

export interface Coturn {
  port: number
  /** The shared secret credentials are minted with (kept in `<stateDir>/turn/secret`, mode 0600). */
  secret: string
  logFile: string
  /** STUN and TURN (UDP, TCP) URLs for `host` (an address or DNS name pages reach). */
  urls(host: string): string[]
  stop(): Promise<void>
}

async function freePort (host: string): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const udp = createSocket('udp4')
    const port = await new Promise<number>((resolve, reject) => { udp.once('error', reject); udp.bind(0, host, () => resolve(udp.address().port)) })
    udp.close()
    const tcp = createServer()
    const ok = await new Promise<boolean>(resolve => { tcp.once('error', () => resolve(false)); tcp.listen(port, host, () => resolve(true)) })
    if (ok) { await new Promise(resolve => tcp.close(resolve)); return port }
  }
  throw new Error('no free port for the TURN server')
}

/** The shared secret, made once (random, 32 bytes) and kept beside coturn's config; never printed. */
export async function loadOrCreateTurnSecret (dir: string): Promise<string> {
  const file = join(dir, 'secret')
  try {
    return (await readFile(file, 'utf8')).trim()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    const secret = randomBytes(32).toString('base64url')
    await writeFile(file, secret + '\n', { mode: 0o600 })
    await ownByInvoker(file)
    return secret
  }
}

/** coturn's configuration for our use: shared-secret (REST) credentials only, no CLI, no TLS, a log file of its own. */
export function coturnConfig (init: CoturnInit, port: number, secret: string, dir: string): string {
  const lines = [
    '# Written by Lightcafe at each start (relay/turn/coturn.ts); edits are overwritten.',
    `listening-port=${port}`,
    ...init.listen.map(ip => `listening-ip=${ip}`),
    ...(init.externalIp != null ? [`external-ip=${init.externalIp}`] : []),
    `min-port=${init.minPort ?? 49152}`,
    `max-port=${init.maxPort ?? 65535}`,
    'fingerprint',
    'use-auth-secret',
    `static-auth-secret=${secret}`,
    'realm=lightcafe',
    `user-quota=${init.userQuota ?? 16}`,
    `total-quota=${init.totalQuota ?? 1000}`,
    `max-bps=${init.maxBps ?? 0}`,
    'no-cli',
    'no-tls',
    'no-dtls',
    'no-multicast-peers',
    'no-software-attribute',
    ...(init.allowPrivatePeers === true ? [] : PRIVATE_PEER_RANGES.map(r => `denied-peer-ip=${r}`)),
    // Its user database is unused (shared-secret auth) but opened: ours, not the system's.
    `userdb=${join(dir, 'turndb')}`,
    `pidfile=${join(dir, 'turnserver.pid')}`,
    `log-file=${join(dir, 'turnserver.log')}`,
    'simple-log',
    'no-stdout-log'
  ]
  return lines.join('\n') + '\n'
}

/**
 * Starts Debian's coturn (`turnserver`) with a config of our own in `<stateDir>/turn/` and
 * waits (bounded) until it answers STUN. Throws when coturn is not installed.
 */
export async function startCoturn (init: CoturnInit, timeoutMs = 10_000): Promise<Coturn> {
  const binary = init.binary ?? turnserverPath()
  if (binary == null) throw new Error('coturn is not installed (Debian package `coturn`; or set TURNSERVER_PATH)')
  const dir = join(init.stateDir, 'turn')
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await ownByInvoker(dir)
  const secret = await loadOrCreateTurnSecret(dir)
  const probeHost = init.listen[0] ?? '127.0.0.1'
  const port = init.port === 0 ? await freePort(probeHost) : init.port
  const configFile = join(dir, 'turnserver.conf')
  // The config holds the secret: readable by its owner only.
  await writeFile(configFile, coturnConfig(init, port, secret, dir), { mode: 0o600 })
  await ownByInvoker(configFile)
  const logFile = join(dir, 'turnserver.log')
  const child: ChildProcess = spawn(binary, ['-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => { if (stderr.length < 4096) stderr += d.toString() })
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  const stop = async (): Promise<void> => {
    if (child.exitCode != null || child.signalCode != null) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 3_000)
    await exited
    clearTimeout(timer)
  }
  try {
    await Promise.race([
      stunProbe(probeHost === '0.0.0.0' ? '127.0.0.1' : probeHost, port, timeoutMs),
      exited.then(() => { throw new Error(`coturn exited at start (${child.exitCode ?? child.signalCode}); see ${logFile}${stderr !== '' ? `: ${stderr.trim()}` : ''}`) })
    ])
  } catch (err) {
    await stop()
    throw err
  }
  await ownByInvoker(logFile).catch(() => {})
  return {
    port,
    secret,
    logFile,
    urls: host => {
      const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
      return [`stun:${h}:${port}`, `turn:${h}:${port}?transport=udp`, `turn:${h}:${port}?transport=tcp`]
    },
    stop
  }
}
