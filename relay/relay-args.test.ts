import { spawn } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { UsageError, parseRelayArgs } from './relay-args.ts'

/** `npm run relay` with `args` run to its exit: the code and all it printed. */
async function relayExit (args: string[]): Promise<{ code: number | null, out: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'relay/relay-main.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr.on('data', (d: Buffer) => { out += d.toString() })
  const code = await new Promise<number | null>(resolve => child.once('exit', resolve))
  return { code, out: out.trim() }
}

describe('npm run relay: its flags', () => {
  it('refuses numbers it cannot use, naming the flag (before: NaN lifted the reservation cap, BigInt threw, NaN minutes)', () => {
    for (const [flag, value] of [
      ['--max-reservations', 'abc'], ['--max-reservations', '0'], ['--max-reservations', '-5'], ['--max-reservations', '1e3'],
      ['--relayed-mib', 'x'], ['--relayed-mib', '1.5'], ['--relayed-minutes', 'NaN'], ['--relayed-minutes', ''],
      ['--relayed-total-mbps', '0'], ['--max-circuits', '12abc'], ['--relayed-per-address', ' '],
      ['--port', '70000'], ['--tls-port', '-1'], ['--turn-port', 'ten'], ['--turn-ttl', '60'], ['--turn-max-mbps', 'fast'],
      ['--turn-min-port', '0'], ['--turn-user-quota', '2.5']
    ]) {
      expect(() => parseRelayArgs([flag, value], {}), `${flag} ${JSON.stringify(value)}`).toThrow(UsageError)
      expect(() => parseRelayArgs([flag, value], {})).toThrow(flag)
    }
    expect(() => parseRelayArgs(['--turn-min-port', '50000', '--turn-max-port', '40000'], {})).toThrow(/above --turn-max-port/)
    expect(() => parseRelayArgs(['--turn-tls-port', '443'], {})).toThrow(/needs --cert and --key/)
    expect(() => parseRelayArgs(['--no-such-flag'], {})).toThrow(UsageError)
    expect(() => parseRelayArgs([], { RELAY_PORT: 'eighty' })).toThrow(/--port must be a whole number/)
  })

  it('takes whole numbers in range, as bytes and milliseconds where the relay counts them', () => {
    const a = parseRelayArgs(['--port', '9090', '--max-reservations', '64', '--relayed-mib', '8', '--relayed-minutes', '3', '--relayed-total-mbps', '40', '--max-circuits', '100', '--relayed-per-address', '10', '--turn-max-mbps', '8', '--turn-total-mbps', '80', '--turn-ttl', '3600', '--announce', '/dns4/relay.example.org/tcp/443/tls/ws'], {})
    expect(a.port).toBe(9090)
    expect(a.limits).toEqual({ maxReservations: 64, relayedDataLimit: 8n << 20n, relayedDurationLimitMs: 180_000, relayedBytesPerSecond: 5_000_000, maxCircuits: 100, maxCircuitsPerSource: 10 })
    expect(a.turn).toMatchObject({ host: 'relay.example.org', port: 3478, maxBps: 1_000_000, bpsCapacity: 10_000_000 })
    expect(a.turnTtl).toBe(3600)
    expect(parseRelayArgs(['--port', '0'], {}).port).toBe(0)
    expect(parseRelayArgs(['--no-turn'], {}).turn).toBe(false)
  })

  it('passes a trusted proxy on, from its flag or its environment variable', () => {
    expect(parseRelayArgs([], {}).trustedProxy).toBeUndefined()
    expect(parseRelayArgs(['--trusted-proxy', '127.0.0.1,10.0.0.0/8', '--proxy-header', 'forwarded'], {}).trustedProxy).toEqual({ spec: '127.0.0.1,10.0.0.0/8', header: 'forwarded' })
    expect(parseRelayArgs([], { RELAY_TRUSTED_PROXY: '::1' }).trustedProxy).toEqual({ spec: '::1' })
  })

  it('exits 2 with one plain line, not a stack or a relay without its cap', async () => {
    expect(await relayExit(['--max-reservations', 'abc', '--no-turn'])).toEqual({ code: 2, out: 'relay: --max-reservations must be a whole number from 1 to 1000000000 (got "abc")' })
  }, 30_000)

  it('a proxy it cannot read exits 2 the same way', async () => {
    expect(await relayExit(['--trusted-proxy', 'bogus', '--no-turn'])).toEqual({ code: 2, out: 'relay: --trusted-proxy: bogus is not an address or CIDR range' })
  }, 30_000)
})
