import { parseArgs } from 'node:util'
import { TURN_CREDENTIALS } from './turn/credentials.ts'
import type { CoturnInit } from './turn/coturn.ts'
import type { RelayLimits } from './relay.ts'

/** A command line that cannot be run as given: said once, plainly, and the relay exits 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}

/** What `npm run relay` runs with, from its flags and environment (relay/relay-main.ts lists them). */
export interface RelayArgs {
  port: number
  host?: string
  cert?: string
  key?: string
  tlsPort: number
  tlsHost: string
  announce: string[]
  keyFile: string
  stateDir: string
  /** `--trusted-proxy`: addresses or CIDR ranges of a reverse proxy in front, and the header it sets. */
  trustedProxy?: { spec: string, header?: string }
  turn: false | Omit<CoturnInit, 'stateDir' | 'tls'> & { host?: string, tlsPort?: number }
  turnTtl?: number
  iceServersFile?: string
  limits: RelayLimits
}

const OPTIONS = {
  port: { type: 'string' },
  host: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  'tls-port': { type: 'string' },
  'tls-host': { type: 'string' },
  announce: { type: 'string' },
  'key-file': { type: 'string' },
  'state-dir': { type: 'string' },
  'trusted-proxy': { type: 'string' },
  'proxy-header': { type: 'string' },
  'turn-host': { type: 'string' },
  'turn-port': { type: 'string' },
  'turn-tls-port': { type: 'string' },
  'turn-listen': { type: 'string' },
  'turn-min-port': { type: 'string' },
  'turn-max-port': { type: 'string' },
  'turn-external-ip': { type: 'string' },
  'turn-ttl': { type: 'string' },
  'turn-max-mbps': { type: 'string' },
  'turn-total-mbps': { type: 'string' },
  'turn-user-quota': { type: 'string' },
  'turn-total-quota': { type: 'string' },
  'turn-allow-private': { type: 'boolean' },
  'no-turn': { type: 'boolean' },
  'ice-servers': { type: 'string' },
  'relayed-mib': { type: 'string' },
  'relayed-minutes': { type: 'string' },
  'relayed-total-mbps': { type: 'string' },
  'relayed-per-address': { type: 'string' },
  'max-circuits': { type: 'string' },
  'max-reservations': { type: 'string' }
} as const

/** A whole number in [min, max] written in plain digits, or a UsageError naming the flag. */
function whole (flag: string, value: string, min: number, max: number): number {
  const n = /^\d{1,10}$/.test(value.trim()) ? Number(value.trim()) : NaN
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${flag} must be a whole number from ${min} to ${max} (got ${JSON.stringify(value)})`)
  }
  return n
}

const MBIT = 125_000

/** Parses the relay's flags (and their environment variables); throws UsageError on anything it cannot use. */
export function parseRelayArgs (argv: string[], env: NodeJS.ProcessEnv = process.env): RelayArgs {
  let values: Partial<Record<keyof typeof OPTIONS, string | boolean>>
  try {
    values = parseArgs({ args: argv, options: OPTIONS, strict: true }).values
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  const str = (k: keyof typeof OPTIONS, envName?: string): string | undefined => {
    const v = values[k]
    return typeof v === 'string' ? v : envName != null ? env[envName] : undefined
  }
  const port = (k: keyof typeof OPTIONS, envName: string | undefined, fallback: number): number => {
    const v = str(k, envName)
    return v == null ? fallback : whole(k, v, 0, 65535)
  }
  const positive = (k: keyof typeof OPTIONS, max = 1_000_000_000): number | undefined => {
    const v = str(k)
    return v == null ? undefined : whole(k, v, 1, max)
  }
  const list = (v: string | undefined): string[] => (v ?? '').split(',').map(s => s.trim()).filter(s => s !== '')

  const cert = str('cert', 'RELAY_CERT')
  const key = str('key', 'RELAY_KEY')
  if ((cert == null) !== (key == null)) throw new UsageError('give both --cert and --key (or RELAY_CERT and RELAY_KEY)')
  const host = str('host', 'RELAY_HOST')
  const tlsHost = str('tls-host', 'RELAY_TLS_HOST') ?? '0.0.0.0'
  const announce = list(str('announce', 'RELAY_ANNOUNCE'))
  // Pages reach our coturn by the relay's public name, or by an address that is not loopback or a wildcard.
  const announcedName = announce.map(a => /^\/(?:dns[46]?|ip4|ip6)\/([^/]+)\//.exec(a)?.[1]).find(n => n != null && !/^(127\.|::1$|localhost$)/.test(n))
  const realHost = [host, cert != null ? tlsHost : undefined].find(h => h != null && !/^(127\.|0\.0\.0\.0$|::$|::1$|localhost$)/.test(h))
  const proxySpec = str('trusted-proxy', 'RELAY_TRUSTED_PROXY')
  const proxyHeader = str('proxy-header', 'RELAY_PROXY_HEADER')
  const minPort = positive('turn-min-port', 65535)
  const maxPort = positive('turn-max-port', 65535)
  if (minPort != null && maxPort != null && minPort > maxPort) throw new UsageError(`--turn-min-port (${minPort}) is above --turn-max-port (${maxPort})`)
  const turnTlsPort = str('turn-tls-port')
  if (turnTlsPort != null && cert == null) throw new UsageError('--turn-tls-port needs --cert and --key (coturn serves TURN over TLS with the same certificate)')
  const mbps = (k: keyof typeof OPTIONS): number | undefined => { const n = positive(k, 100_000); return n == null ? undefined : n * MBIT }
  const mib = positive('relayed-mib', 1 << 20)
  const minutes = positive('relayed-minutes', 7 * 24 * 60)

  return {
    port: port('port', 'RELAY_PORT', 0),
    host,
    cert,
    key,
    tlsPort: port('tls-port', 'RELAY_TLS_PORT', 443),
    tlsHost,
    announce,
    keyFile: str('key-file', 'RELAY_KEY_FILE') ?? '.lightcafe/relay.key',
    stateDir: str('state-dir', 'LIGHTCAFE_STATE_DIR') ?? '.lightcafe',
    ...(proxySpec != null ? { trustedProxy: { spec: proxySpec, ...(proxyHeader != null ? { header: proxyHeader } : {}) } } : {}),
    turn: values['no-turn'] === true
      ? false
      : {
          host: str('turn-host', 'RELAY_TURN_HOST') ?? announcedName ?? realHost,
          listen: list(str('turn-listen', 'RELAY_TURN_LISTEN')),
          port: port('turn-port', 'RELAY_TURN_PORT', 3478),
          ...(turnTlsPort != null ? { tlsPort: whole('turn-tls-port', turnTlsPort, 1, 65535) } : {}),
          ...(minPort != null ? { minPort } : {}),
          ...(maxPort != null ? { maxPort } : {}),
          ...(str('turn-external-ip') != null ? { externalIp: str('turn-external-ip') } : {}),
          allowPrivatePeers: values['turn-allow-private'] === true,
          ...(mbps('turn-max-mbps') != null ? { maxBps: mbps('turn-max-mbps') } : {}),
          ...(mbps('turn-total-mbps') != null ? { bpsCapacity: mbps('turn-total-mbps') } : {}),
          ...(positive('turn-user-quota') != null ? { userQuota: positive('turn-user-quota') } : {}),
          ...(positive('turn-total-quota') != null ? { totalQuota: positive('turn-total-quota') } : {})
        },
    ...(str('turn-ttl') != null ? { turnTtl: whole('turn-ttl', str('turn-ttl')!, TURN_CREDENTIALS.minTtlSeconds, TURN_CREDENTIALS.maxTtlSeconds) } : {}),
    iceServersFile: str('ice-servers', 'RELAY_ICE_SERVERS'),
    limits: {
      ...(mib != null ? { relayedDataLimit: BigInt(mib) << 20n } : {}),
      ...(minutes != null ? { relayedDurationLimitMs: minutes * 60_000 } : {}),
      ...(positive('max-reservations') != null ? { maxReservations: positive('max-reservations') } : {}),
      ...(positive('max-circuits') != null ? { maxCircuits: positive('max-circuits') } : {}),
      ...(positive('relayed-per-address') != null ? { maxCircuitsPerSource: positive('relayed-per-address') } : {}),
      ...(mbps('relayed-total-mbps') != null ? { relayedBytesPerSecond: mbps('relayed-total-mbps') } : {})
    }
  }
}
