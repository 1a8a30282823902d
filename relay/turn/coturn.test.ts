import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { startCoturn } from './coturn.ts'
import { turnCredential } from './credentials.ts'
import { startIceConfig } from './ice-config.ts'
import { stunProbe } from './stun-probe.ts'
import type { Coturn } from './coturn.ts'

const run = promisify(execFile)

/** A TURN allocation with coturn's own client (turnutils_uclient), then a channel to `peer`: what coturn answered. */
async function allocate (port: number, username: string, password: string, peer = '127.0.0.1'): Promise<string> {
  const args = ['-p', String(port), '-u', username, '-w', password, '-n', '1', '-e', peer, '-r', '3480', '127.0.0.1']
  return run('turnutils_uclient', args, { timeout: 15_000 }).then(r => r.stdout + r.stderr, (e: { stdout?: string, stderr?: string }) => `${e.stdout ?? ''}${e.stderr ?? ''}`)
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

