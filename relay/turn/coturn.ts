import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { existsSync } from 'node:fs'
import { chmod, open, readFile, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { networkInterfaces } from 'node:os'
import { join } from 'node:path'
import { invoker, invokerNames, mkdirOwned, ownByInvoker } from '../state-files.ts'
import { turnCredential } from './credentials.ts'
import { turnAllocateProbe } from './stun-client.ts'
import type { ChildProcess } from 'node:child_process'

/** Where Debian's coturn puts its server (TURNSERVER_PATH overrides). */
export function turnserverPath (env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = env.TURNSERVER_PATH != null ? [env.TURNSERVER_PATH] : ['/usr/bin/turnserver', '/usr/sbin/turnserver']
  return candidates.find(p => existsSync(p))
}

/**
 * Peers a TURN server must never relay to, public or on a LAN: nowhere (0/8), loopback, IPv4
 * addresses written as IPv6 (`::ffff:0:0/96`, NAT64 `64:ff9b::/96`: the same hosts by another
 * name), and reserved ranges. `::` is not listed: coturn refuses it (and 0.0.0.0) as a peer by
 * itself since 4.5.2, and in 4.6 a rule naming `::` matches every address.
 */
export const NEVER_PEER_RANGES = [
  '0.0.0.0-0.255.255.255', '127.0.0.0-127.255.255.255', '240.0.0.0-255.255.255.255',
  '::1', '::ffff:0.0.0.0-::ffff:255.255.255.255', '64:ff9b::-64:ff9b::ffff:ffff'
] as const

/**
 * Private and link-local networks: a TURN server relaying to them would be a proxy into the
 * host's own networks. Denied unless `allowPrivatePeers`; in LAN mode only the served LAN's
 * own subnets are allowed back (`lanSubnets`), not a VPN's or a container bridge's.
 */
export const PRIVATE_PEER_RANGES = [
  '10.0.0.0-10.255.255.255', '100.64.0.0-100.127.255.255', '169.254.0.0-169.254.255.255',
  '172.16.0.0-172.31.255.255', '192.0.0.0-192.0.0.255', '192.168.0.0-192.168.255.255', '198.18.0.0-198.19.255.255',
  'fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff'
] as const

/** Defaults of the limits the owner can set (relay/relay-main.ts flags). */
export const TURN_LIMITS = {
  /**
   * Allocations one credential may hold at once. A page uses one credential for all its WebRTC
   * connections, up to three allocations each (UDP, TCP, TLS to the server): a cafe with ~10
   * clients connecting at once stays within it.
   */
  userQuota: 32,
  /** Allocations in all; far above what the credentials one address may mint can hold (16 × 32). */
  totalQuota: 4096,
  /** Bytes/s per allocation, each way (20 Mbit/s). */
  maxBps: 2_500_000,
  /**
   * Bytes/s of all allocations, each way (800 Mbit/s). coturn reserves `maxBps` per allocation
   * against it, so it also bounds allocations at full rate: 40 here, then smaller shares, then
   * none ("486 Allocation Bandwidth Quota Reached").
   */
  bpsCapacity: 100_000_000
} as const

export interface CoturnInit {
  /** `.lightcafe`: coturn's files go in `<stateDir>/turn/` (config, secret, log, pid, db). */
  stateDir: string
  /** Addresses to listen on (none: every address). */
  listen: string[]
  /** STUN/TURN port, UDP and TCP (0: a free one). */
  port: number
  /** TURN over TLS (`turns:`), for networks that pass only TCP 443: its port and the PEM files (coturn reads them at start). */
  tls?: { port: number, cert: string, key: string }
  /** UDP ports for relayed traffic (coturn's default 49152–65535). */
  minPort?: number
  maxPort?: number
  /** `public[/private]` when the host is behind a 1:1 NAT (cloud VMs). */
  externalIp?: string
  /** Peers on private networks may be relayed to (`--turn-allow-private`). */
  allowPrivatePeers?: boolean
  /** LAN mode: the only private ranges peers may be on (`a.b.c.d-e.f.g.h`): the LAN's own subnets. */
  lanSubnets?: string[]
  /** Allocations per credential and in all; bytes/s per allocation and of all (TURN_LIMITS). */
  userQuota?: number
  totalQuota?: number
  maxBps?: number
  bpsCapacity?: number
  binary?: string
}

export interface Coturn {
  port: number
  /** The TURN-over-TLS port, when it listens on one. */
  tlsPort?: number
  /** The shared secret credentials are minted with (kept in `<stateDir>/turn/secret`, mode 0600). */
  secret: string
  logFile: string
  /** What did not go as asked but did not stop it (a TLS port that could not be bound). */
  warnings: string[]
  /** STUN and TURN (UDP, TCP, TLS) URLs for `host` (an address or DNS name pages reach; for TLS, one the certificate names). */
  urls(host: string): string[]
  stop(): Promise<void>
}

async function freePort (host: string): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const udp = createSocket('udp4')
    const port = await new Promise<number>((resolve, reject) => { udp.once('error', reject); udp.bind(0, host, () => resolve(udp.address().port)) })
    udp.close()
    if (await inUse(host, port, 'tcp') == null) return port
  }
  throw new Error('no free port for the TURN server')
}

/** Why `host:port` cannot be bound now (EADDRINUSE, EACCES…), or undefined when it can. */
async function inUse (host: string, port: number, proto: 'udp' | 'tcp'): Promise<string | undefined> {
  if (proto === 'udp') {
    const udp = createSocket(host.includes(':') ? 'udp6' : 'udp4')
    return new Promise(resolve => {
      udp.once('error', (err: NodeJS.ErrnoException) => { udp.close(); resolve(err.code ?? err.message) })
      udp.bind(port, host, () => { udp.close(); resolve(undefined) })
    })
  }
  const tcp = createServer()
  return new Promise(resolve => {
    tcp.once('error', (err: NodeJS.ErrnoException) => { resolve(err.code ?? err.message) })
    tcp.listen(port, host, () => { tcp.close(() => resolve(undefined)) })
  })
}

/** The host's own addresses (loopback aside): peers a public TURN server must not relay to. */
export function ownAddresses (init: Pick<CoturnInit, 'externalIp' | 'listen'>): string[] {
  const found = new Set<string>()
  for (const list of Object.values(networkInterfaces())) for (const info of list ?? []) found.add(info.address.split('%')[0])
  for (const ip of [...(init.externalIp ?? '').split('/'), ...init.listen]) if (ip !== '') found.add(ip)
  // Not `::` nor 0.0.0.0 (coturn refuses them itself; a rule naming `::` would deny every peer).
  return [...found].filter(ip => !/^(127\.|0\.0\.0\.0$|::1?$)/.test(ip)).sort()
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

/** The files coturn writes, in `dir` (they are made beforehand, mode 0600, so they are never root's or readable by others). */
export const coturnFiles = (dir: string): { config: string, log: string, pid: string, db: string } =>
  ({ config: join(dir, 'turnserver.conf'), log: join(dir, 'turnserver.log'), pid: join(dir, 'turnserver.pid'), db: join(dir, 'turndb') })

/**
 * coturn's configuration for our use: shared-secret (REST) credentials only, no CLI, no DTLS,
 * UDP relaying only, bounded allocations and bandwidth, peers on no private or own address,
 * its own files, and under sudo the invoking user's identity once its ports are bound.
 */
export function coturnConfig (init: CoturnInit, port: number, secret: string, dir: string, extra: { procUser?: { user: string, group: string }, own?: string[] } = {}): string {
  const files = coturnFiles(dir)
  const lan = init.lanSubnets
  const denied = [...NEVER_PEER_RANGES, ...(init.allowPrivatePeers === true && lan == null ? [] : PRIVATE_PEER_RANGES), ...(extra.own ?? [])]
  const lines = [
    '# Written by Lightcafe at each start (relay/turn/coturn.ts); edits are overwritten.',
    `listening-port=${port}`,
    ...init.listen.map(ip => `listening-ip=${ip}`),
    ...(init.tls != null ? [`tls-listening-port=${init.tls.port}`, `cert=${init.tls.cert}`, `pkey=${init.tls.key}`, 'no-tlsv1', 'no-tlsv1_1'] : ['no-tls']),
    ...(init.externalIp != null ? [`external-ip=${init.externalIp}`] : []),
    `min-port=${init.minPort ?? 49152}`,
    `max-port=${init.maxPort ?? 65535}`,
    'fingerprint',
    'use-auth-secret',
    `static-auth-secret=${secret}`,
    'realm=lightcafe',
    `user-quota=${init.userQuota ?? TURN_LIMITS.userQuota}`,
    `total-quota=${init.totalQuota ?? TURN_LIMITS.totalQuota}`,
    `max-bps=${init.maxBps ?? TURN_LIMITS.maxBps}`,
    `bps-capacity=${init.bpsCapacity ?? TURN_LIMITS.bpsCapacity}`,
    // Browsers relay over UDP only; a TCP relay endpoint would reach TCP services for strangers.
    'no-tcp-relay',
    'no-cli',
    'no-dtls',
    // One listening address per family: no second port (RFC 5780), no amplifying old-STUN answers.
    'no-rfc5780',
    'no-stun-backward-compatibility',
    'response-origin-only-with-rfc5780',
    'no-multicast-peers',
    'no-software-attribute',
    ...denied.map(r => `denied-peer-ip=${r}`),
    // Allowed wins over denied in coturn: only the LAN's own subnets, in LAN mode.
    ...(lan ?? []).map(r => `allowed-peer-ip=${r}`),
    ...(extra.procUser != null ? [`proc-user=${extra.procUser.user}`, `proc-group=${extra.procUser.group}`] : []),
    // Its user database is unused (shared-secret auth) but opened: ours, not the system's.
    `userdb=${files.db}`,
    `pidfile=${files.pid}`,
    `log-file=${files.log}`,
    'simple-log',
    'no-stdout-log'
  ]
  return lines.join('\n') + '\n'
}

const alive = (pid: number): boolean => { try { process.kill(pid, 0); return true } catch { return false } }

/**
 * A coturn left running by a relay that was killed (SIGKILL, a crash) still holds its ports.
 * The pid in `<dir>/turnserver.pid` is stopped if, and only if, its command line names our
 * config file: a reused pid belonging to anything else is left alone. Resolves with the pid
 * stopped, if any.
 */
export async function stopStaleCoturn (dir: string): Promise<number | undefined> {
  const { config, pid: pidFile } = coturnFiles(dir)
  const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim())
  if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) return undefined
  const args = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0')
  if (!/turnserver$/.test(args[0] ?? '') || !args.includes(config)) return undefined
  process.kill(pid, 'SIGTERM')
  for (let i = 0; i < 30 && alive(pid); i++) await new Promise(resolve => setTimeout(resolve, 100))
  if (alive(pid)) process.kill(pid, 'SIGKILL')
  for (let i = 0; i < 20 && alive(pid); i++) await new Promise(resolve => setTimeout(resolve, 50))
  return pid
}

/** Makes `file` (mode 0600) unless it exists, and gives it to the invoker under sudo. */
async function ownFile (file: string): Promise<void> {
  await (await open(file, 'a', 0o600)).close()
  await chmod(file, 0o600)
  await ownByInvoker(file)
}

/**
 * Starts Debian's coturn (`turnserver`) with a config of our own in `<stateDir>/turn/`: a
 * coturn we left running is stopped first, the ports are checked free on the exact listening
 * addresses, and the server is proved ours by an authenticated TURN Allocate (a plain STUN
 * answer could come from another server on the port, which would refuse every credential we
 * mint). Throws when coturn is not installed or does not come up; the caller goes on without it.
 */
export async function startCoturn (init: CoturnInit, timeoutMs = 10_000): Promise<Coturn> {
  const binary = init.binary ?? turnserverPath()
  if (binary == null) throw new Error('coturn is not installed (Debian package `coturn`; or set TURNSERVER_PATH)')
  const dir = join(init.stateDir, 'turn')
  await mkdirOwned(dir)
  const secret = await loadOrCreateTurnSecret(dir)
  const files = coturnFiles(dir)
  await stopStaleCoturn(dir)
  const probeHost = init.listen[0] ?? '127.0.0.1'
  const addresses = init.listen.length > 0 ? init.listen : ['0.0.0.0']
  const port = init.port === 0 ? await freePort(probeHost) : init.port
  for (const host of addresses) {
    for (const proto of ['udp', 'tcp'] as const) {
      const why = await inUse(host, port, proto)
      if (why != null) throw new Error(`port ${port}/${proto} on ${host} cannot be bound (${why}): another TURN server holds it? (Debian's own: sudo systemctl disable --now coturn)`)
    }
  }
  const warnings: string[] = []
  let tls = init.tls
  for (const host of tls != null ? addresses : []) {
    const why = await inUse(host, tls!.port, 'tcp')
    if (why != null) {
      warnings.push(`TURN over TLS left off: port ${tls!.port}/tcp on ${host} cannot be bound (${why}; the relay's own TLS port? give coturn an address of its own with --turn-listen)`)
      tls = undefined
      break
    }
  }
  const who = invoker()
  const procUser = who != null ? invokerNames(who) : undefined
  for (const f of [files.log, files.pid, files.db]) await ownFile(f)
  // The config holds the secret: readable by its owner only.
  await writeFile(files.config, coturnConfig({ ...init, tls }, port, secret, dir, { procUser, own: init.lanSubnets != null || init.allowPrivatePeers === true ? [] : ownAddresses(init) }), { mode: 0o600 })
  await ownByInvoker(files.config)
  const child: ChildProcess = spawn(binary, ['-c', files.config], { stdio: ['ignore', 'ignore', 'pipe'] })
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
    const probe = turnCredential(secret, 'lightcafe-start-check', 900)
    await Promise.race([
      turnAllocateProbe(probeHost === '0.0.0.0' ? '127.0.0.1' : probeHost, port, probe.username, probe.credential, timeoutMs),
      exited.then(() => { throw new Error(`coturn exited at start (${child.exitCode ?? child.signalCode}); see ${files.log}${stderr !== '' ? `: ${stderr.trim()}` : ''}`) })
    ])
  } catch (err) {
    await stop()
    throw err
  }
  return {
    port,
    ...(tls != null ? { tlsPort: tls.port } : {}),
    secret,
    logFile: files.log,
    warnings,
    urls: host => {
      const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
      return [`stun:${h}:${port}`, `turn:${h}:${port}?transport=udp`, `turn:${h}:${port}?transport=tcp`, ...(tls != null ? [`turns:${h}:${tls.port}?transport=tcp`] : [])]
    },
    stop
  }
}
