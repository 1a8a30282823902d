import { execFile, spawn } from 'node:child_process'
import { chmod, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { loadOrCreateKey } from '../relay.ts'
import { TURN_LIMITS, startCoturn, stopStaleCoturn } from './coturn.ts'
import { turnCredential } from './credentials.ts'
import { MINT_LIMITS, startIceConfig } from './ice-config.ts'
import { TurnAuthError, stunProbe, turnAllocateProbe } from './stun-client.ts'
import type { Coturn } from './coturn.ts'

const run = promisify(execFile)
const isAlive = (pid: number): boolean => { try { process.kill(pid, 0); return true } catch { return false } }

/** A TURN allocation with coturn's own client (turnutils_uclient), then a channel to `peer`: what coturn answered. */
async function allocate (port: number, username: string, password: string, peer = '127.0.0.1'): Promise<string> {
  const args = ['-p', String(port), '-u', username, '-w', password, '-n', '1', '-e', peer, '-r', '3480', '127.0.0.1']
  return run('turnutils_uclient', args, { timeout: 15_000 }).then(r => r.stdout + r.stderr, (e: { stdout?: string, stderr?: string }) => `${e.stdout ?? ''}${e.stderr ?? ''}`)
}

/** What coturn answers a channel to `peer` (its own client, verbose, given 5 s): bound, forbidden, or what it printed. */
async function channelTo (port: number, username: string, password: string, peer: string): Promise<string> {
  const args = ['-v', '-p', String(port), '-u', username, '-w', password, '-n', '1', '-e', peer, '-r', '3480', '127.0.0.1']
  const out = await run('turnutils_uclient', args, { timeout: 5_000 }).then(r => r.stdout + r.stderr, (e: { stdout?: string, stderr?: string }) => `${e.stdout ?? ''}${e.stderr ?? ''}`)
  if (out.includes('403 (Forbidden IP)')) return 'forbidden'
  if (out.includes('channel bind sent') && /success: 0x[0-9a-f]+/.test(out)) return 'bound'
  return out
}

describe('coturn beside the relay (Debian coturn, real process on loopback)', () => {
  let dir: string
  let coturn: Coturn
  const printed: string[] = []
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lightcafe-coturn-'))
    for (const m of ['log', 'error', 'warn', 'info'] as const) vi.spyOn(console, m).mockImplementation((...a: unknown[]) => { printed.push(a.map(String).join(' ')) })
    coturn = await startCoturn({ stateDir: dir, listen: ['127.0.0.1'], port: 0, minPort: 50200, maxPort: 50300 })
  })
  afterAll(async () => {
    vi.restoreAllMocks()
    await coturn?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('answers STUN on the port it chose, with a secret of its own kept readable by its owner only', async () => {
    expect(await stunProbe('127.0.0.1', coturn.port, 5_000)).toEqual({ address: '127.0.0.1', port: expect.any(Number) })
    expect(coturn.urls('turn.example.org')).toEqual([`stun:turn.example.org:${coturn.port}`, `turn:turn.example.org:${coturn.port}?transport=udp`, `turn:turn.example.org:${coturn.port}?transport=tcp`])
    expect((await stat(join(dir, 'turn', 'secret'))).mode & 0o777).toBe(0o600)
    expect((await stat(join(dir, 'turn', 'turnserver.conf'))).mode & 0o777).toBe(0o600)
    expect(coturn.secret.length).toBeGreaterThanOrEqual(32)
  })

  it('allocates for a credential minted now, refuses an expired one or one from another secret, and relays to no loopback or private peer', async () => {
    const good = turnCredential(coturn.secret, 'peerA', 900)
    const ok = await allocate(coturn.port, good.username, good.credential)
    // The allocation is made; the channel to 127.0.0.1 is then refused: coturn relays into no private network.
    expect(ok).not.toContain('Cannot complete Allocation')
    expect(ok).toContain('403 (Forbidden IP)')
    const expired = turnCredential(coturn.secret, 'peerA', 900, Date.now() - 3_600_000)
    expect(await allocate(coturn.port, expired.username, expired.credential)).toContain('Cannot complete Allocation')
    const forged = turnCredential('not-the-secret-of-this-server', 'peerA', 900)
    expect(await allocate(coturn.port, forged.username, forged.credential)).toContain('Cannot complete Allocation')

    // Never logged: neither the secret nor a password shows in coturn's log or anything we printed.
    const log = await readFile(coturn.logFile, 'utf8')
    expect(log).toContain('peerA') // the log is the one coturn wrote for these requests
    for (const s of [coturn.secret, good.credential, expired.credential]) {
      expect(log).not.toContain(s)
      expect(printed.join('\n')).not.toContain(s)
    }
  })

  it('is started with the relay only where pages can reach it by a name, and keeps the same secret across restarts', async () => {
    const none = await startIceConfig({ coturn: { stateDir: dir, listen: ['127.0.0.1'], port: 0 } })
    expect(none.coturn).toBeUndefined()
    expect(none.skipped).toMatch(/no public name/)
    const again = await startIceConfig({ coturn: { stateDir: join(dir, 'other'), host: 'turn.example.org', listen: ['127.0.0.1'], port: 0, minPort: 50400, maxPort: 50500 }, ttlSeconds: 3600 })
    try {
      const servers = again.forRequester('peerB')
      expect(servers.map(s => s.urls[0])).toEqual([`stun:turn.example.org:${again.coturn!.port}`, `turn:turn.example.org:${again.coturn!.port}?transport=udp`])
      expect(servers[1].username).toMatch(/^\d+:peerB$/)
      const secret = again.coturn!.secret
      await again.stop()
      const third = await startIceConfig({ coturn: { stateDir: join(dir, 'other'), host: 'turn.example.org', listen: ['127.0.0.1'], port: 0, minPort: 50400, maxPort: 50500 } })
      expect(third.coturn!.secret).toBe(secret)
      await third.stop()
    } finally {
      await again.stop()
    }
  })
})

describe('coturn starts only as ours, or not at all (Debian coturn, real processes on loopback)', () => {
  let dir: string
  let first: Coturn
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lightcafe-coturn-start-'))
    first = await startCoturn({ stateDir: join(dir, 'first'), listen: ['127.0.0.1'], port: 0, minPort: 50600, maxPort: 50700 })
  })
  afterAll(async () => {
    await first?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('does not start on a port another TURN server holds (before, a STUN answer from that server counted as up), and the relay goes on without it', async () => {
    await expect(startCoturn({ stateDir: join(dir, 'second'), listen: ['127.0.0.1'], port: first.port })).rejects.toThrow(/port \d+\/udp on 127\.0\.0\.1 cannot be bound \(EADDRINUSE\)/)
    const ice = await startIceConfig({ coturn: { stateDir: join(dir, 'second'), host: 'turn.example.org', listen: ['127.0.0.1'], port: first.port } })
    expect(ice.coturn).toBeUndefined()
    expect(ice.skipped).toMatch(/did not start: port \d+\/udp .* cannot be bound/)
    expect(ice.forRequester('peerC')).toEqual([])
    await ice.stop()
    // The first one still serves its own credentials.
    const ok = turnCredential(first.secret, 'peerC', 900)
    expect((await turnAllocateProbe('127.0.0.1', first.port, ok.username, ok.credential, 5_000)).port).toBeGreaterThanOrEqual(50600)
  })

  it('proves the server with an authenticated Allocate: a server holding another secret is told apart from ours', async () => {
    const foreign = turnCredential('a-secret-this-coturn-never-had', 'peerD', 900)
    await expect(turnAllocateProbe('127.0.0.1', first.port, foreign.username, foreign.credential, 5_000)).rejects.toBeInstanceOf(TurnAuthError)
    const ours = turnCredential(first.secret, 'peerD', 900)
    const relayed = await turnAllocateProbe('127.0.0.1', first.port, ours.username, ours.credential, 5_000)
    expect(relayed.address).toBe('127.0.0.1')
  })

  it('stops a coturn a killed relay left holding the port (its pidfile, its command line naming our config), and nothing else a pidfile names', async () => {
    const stateDir = join(dir, 'orphan')
    const port = first.port + 1000
    // A relay process that starts coturn, then is SIGKILLed: its coturn lives on, holding the port.
    const script = join(dir, 'start-coturn.mts')
    await writeFile(script, `import { startCoturn } from ${JSON.stringify(join(process.cwd(), 'relay/turn/coturn.ts'))}\nawait startCoturn({ stateDir: ${JSON.stringify(stateDir)}, listen: ['127.0.0.1'], port: ${port}, minPort: 50800, maxPort: 50850 })\nconsole.log('up')\nsetInterval(() => {}, 1000)\n`)
    const relay = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] })
    await new Promise<void>((resolve, reject) => {
      relay.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('up')) resolve() })
      relay.once('exit', code => { reject(new Error(`the relay exited (${code})`)) })
    })
    relay.kill('SIGKILL')
    const orphan = Number((await readFile(join(stateDir, 'turn', 'turnserver.pid'), 'utf8')).trim())
    expect(isAlive(orphan)).toBe(true)

    const again = await startCoturn({ stateDir, listen: ['127.0.0.1'], port, minPort: 50800, maxPort: 50850 })
    try {
      expect(isAlive(orphan)).toBe(false)
      expect(again.port).toBe(port)
    } finally {
      await again.stop()
    }

    // A pid that is not our coturn (a reused number) is left alone.
    const other = spawn('sleep', ['30'], { stdio: 'ignore' })
    try {
      await writeFile(join(stateDir, 'turn', 'turnserver.pid'), `${other.pid!}\n`)
      expect(await stopStaleCoturn(join(stateDir, 'turn'))).toBeUndefined()
      expect(isAlive(other.pid!)).toBe(true)
    } finally {
      other.kill('SIGKILL')
    }
  }, 40_000)
})

describe('coturn\'s configuration keeps it from being a proxy (Debian coturn on loopback, its own client)', () => {
  let dir: string
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'lightcafe-coturn-conf-')) })
  afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

  it('relays over UDP only, with bandwidth bounds, never to the host itself or to IPv4 written as IPv6', async () => {
    const coturn = await startCoturn({ stateDir: join(dir, 'public'), listen: ['127.0.0.1'], port: 0, minPort: 50900, maxPort: 50950, externalIp: '198.51.100.77' })
    try {
      const conf = await readFile(join(dir, 'public', 'turn', 'turnserver.conf'), 'utf8')
      for (const line of ['no-tcp-relay', `max-bps=${TURN_LIMITS.maxBps}`, `bps-capacity=${TURN_LIMITS.bpsCapacity}`, 'denied-peer-ip=::ffff:0.0.0.0-::ffff:255.255.255.255', 'denied-peer-ip=64:ff9b::-64:ff9b::ffff:ffff', 'denied-peer-ip=198.51.100.77']) {
        expect(conf.split('\n')).toContain(line)
      }
      expect(TURN_LIMITS.maxBps).toBeGreaterThan(0)
      const cred = turnCredential(coturn.secret, 'peerE', 900)
      // The host's own public address, or nowhere: refused; a stranger's next to it: relayed.
      for (const peer of ['198.51.100.77', '0.0.0.0']) expect(await channelTo(coturn.port, cred.username, cred.credential, peer)).toBe('forbidden')
      expect(await channelTo(coturn.port, cred.username, cred.credential, '198.51.100.78')).toBe('bound')
      // A TCP relay endpoint (reaching TCP services for strangers) is refused.
      const tcp = await run('turnutils_uclient', ['-T', '-p', String(coturn.port), '-u', cred.username, '-w', cred.credential, '-n', '1', '-e', '198.51.100.78', '-r', '3480', '127.0.0.1'], { timeout: 15_000 }).then(r => r.stdout + r.stderr, (e: { stdout?: string, stderr?: string }) => `${e.stdout ?? ''}${e.stderr ?? ''}`)
      expect(tcp).toContain('error 442 (TCP Transport is not allowed')
      expect((await stat(coturn.logFile)).mode & 0o777).toBe(0o600)
    } finally {
      await coturn.stop()
    }
  }, 60_000)

  it('in LAN mode relays to the LAN\'s own subnet only: not to another private network (a VPN, a container bridge)', async () => {
    const coturn = await startCoturn({ stateDir: join(dir, 'lan'), listen: ['127.0.0.1'], port: 0, minPort: 51000, maxPort: 51050, lanSubnets: ['192.168.77.0-192.168.77.255'] })
    try {
      const cred = turnCredential(coturn.secret, 'peerF', 900)
      expect(await channelTo(coturn.port, cred.username, cred.credential, '192.168.77.5')).toBe('bound')
      for (const peer of ['10.1.2.3', '172.17.0.2', '192.168.78.5']) expect(await channelTo(coturn.port, cred.username, cred.credential, peer)).toBe('forbidden')
    } finally {
      await coturn.stop()
    }
  }, 60_000)

  it('gives one source address at most MINT_LIMITS.burst TURN credentials, then STUN only; another address still gets TURN', async () => {
    const ice = await startIceConfig({ coturn: { stateDir: join(dir, 'mint'), host: 'turn.example.org', listen: ['127.0.0.1'], port: 0, minPort: 51100, maxPort: 51150 } })
    try {
      const turnOf = (s: ReturnType<typeof ice.forRequester>): number => s.filter(e => e.username != null).length
      for (let i = 0; i < MINT_LIMITS.burst; i++) expect(turnOf(ice.forRequester(`sybil${i}`, { source: '203.0.113.9' }))).toBe(1)
      const past = ice.forRequester('sybilMore', { source: '203.0.113.9' })
      expect(turnOf(past)).toBe(0)
      expect(past.map(s => s.urls[0])).toEqual([expect.stringMatching(/^stun:turn\.example\.org:/)])
      expect(turnOf(ice.forRequester('neighbour', { source: '203.0.113.10' }))).toBe(1)
    } finally {
      await ice.stop()
    }
  })
})

describe('under sudo, everything the relay and coturn write belongs to the user who ran sudo', () => {
  let root: string
  let coturn: Coturn | undefined
  const saved = { uid: process.env.SUDO_UID, gid: process.env.SUDO_GID }
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'lightcafe-sudo-'))
    await chmod(root, 0o755)
    // As `sudo npm run relay` by the user nobody (65534): CI runs as root.
    process.env.SUDO_UID = '65534'
    process.env.SUDO_GID = '65534'
  })
  afterAll(async () => {
    for (const [k, v] of [['SUDO_UID', saved.uid], ['SUDO_GID', saved.gid]] as const) { if (v == null) delete process.env[k]; else process.env[k] = v }
    await coturn?.stop()
    await rm(root, { recursive: true, force: true })
  })

  it('every directory mkdir made and every file (key, secret, config, coturn\'s log, pid and db) is that user\'s, readable by it, and coturn runs as it', async () => {
    expect(process.getuid?.()).toBe(0)
    const state = join(root, 'checkout', '.lightcafe')
    await loadOrCreateKey(join(state, 'relay.key'))
    coturn = await startCoturn({ stateDir: state, listen: ['127.0.0.1'], port: 0, minPort: 51200, maxPort: 51250 })
    const entries = [join(root, 'checkout'), ...(await readdir(join(root, 'checkout'), { recursive: true })).map(e => join(root, 'checkout', e))]
    expect(entries.map(e => e.slice(root.length))).toEqual(expect.arrayContaining(['/checkout/.lightcafe', '/checkout/.lightcafe/turn', '/checkout/.lightcafe/relay.key', '/checkout/.lightcafe/turn/turndb', '/checkout/.lightcafe/turn/turnserver.pid', '/checkout/.lightcafe/turn/turnserver.log']))
    for (const e of entries) expect({ e, uid: (await stat(e)).uid, gid: (await stat(e)).gid }).toEqual({ e, uid: 65534, gid: 65534 })
    // Read as that user, as a later run without sudo does.
    const files = entries.filter(e => !e.endsWith('.lightcafe') && !e.endsWith('turn') && !e.endsWith('checkout'))
    const asNobody = await run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--', 'sh', '-c', 'cat "$@" > /dev/null && test -w "$0"', join(state, 'turn'), ...files])
    expect(asNobody.stderr).toBe('')
    const pid = Number((await readFile(join(state, 'turn', 'turnserver.pid'), 'utf8')).trim())
    expect((await readFile(`/proc/${pid}/status`, 'utf8')).match(/^Uid:\s+(\d+)/m)?.[1]).toBe('65534')
  })
})
