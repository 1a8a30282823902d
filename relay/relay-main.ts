import './polyfill.ts'
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { startRelay } from './relay.ts'
import { readIceServersFile, startIceConfig } from './turn/ice-config.ts'
import { printableLog } from '../src/shared/printable.ts'

/**
 * The relay alone, as its own process (tests restart it; `npm run relay` for a public host).
 * Prints one JSON line once listening. Options (or env):
 *   --port / RELAY_PORT           ws port (default 0: any)
 *   --host / RELAY_HOST           ws address (default 127.0.0.1; a TLS proxy in front keeps it there)
 *   --cert, --key / RELAY_CERT, RELAY_KEY   PEM files: also listen with TLS (/tls/ws) on --tls-port
 *   --tls-port / RELAY_TLS_PORT   default 443
 *   --tls-host / RELAY_TLS_HOST   default 0.0.0.0
 *   --announce / RELAY_ANNOUNCE   comma-separated multiaddrs peers are told, e.g. /dns4/relay.example.org/tcp/443/tls/ws
 *   --key-file / RELAY_KEY_FILE   the relay's libp2p key (default .lightcafe/relay.key)
 *   --state-dir / LIGHTCAFE_STATE_DIR   where coturn's config, secret and log go (default .lightcafe)
 * STUN/TURN (coturn, Debian's `coturn`, started beside the relay when installed):
 *   --turn-host / RELAY_TURN_HOST       the name or address pages reach it by (default: the
 *                                       --announce DNS name, else --host when it is a real address)
 *   --turn-port / RELAY_TURN_PORT       UDP and TCP (default 3478; 0: a free one)
 *   --turn-listen / RELAY_TURN_LISTEN   comma-separated addresses to listen on (default every one)
 *   --turn-min-port, --turn-max-port    UDP relay ports (default 49152–65535)
 *   --turn-external-ip                  public[/private], for a host behind 1:1 NAT (cloud VMs)
 *   --turn-ttl                          credential lifetime in seconds (default 86400)
 *   --turn-allow-private                relay to private addresses too (off: a public TURN is no proxy into private networks)
 *   --no-turn                           do not start coturn
 *   --ice-servers / RELAY_ICE_SERVERS   a JSON file of other STUN/TURN servers (see relay/turn/ice-config.ts)
 * Relayed connections (the last resort where no WebRTC pair forms; defaults in RELAY_LIMITS):
 *   --relayed-mib        bytes per relayed connection, in MiB (both ways together)
 *   --relayed-minutes    time a relayed connection may live
 *   --max-reservations   peers holding a slot, so relayed connections at once
 */
const { values: args } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    cert: { type: 'string' },
    key: { type: 'string' },
    'tls-port': { type: 'string' },
    'tls-host': { type: 'string' },
    announce: { type: 'string' },
    'key-file': { type: 'string' },
    'state-dir': { type: 'string' },
    'turn-host': { type: 'string' },
    'turn-port': { type: 'string' },
    'turn-listen': { type: 'string' },
    'turn-min-port': { type: 'string' },
    'turn-max-port': { type: 'string' },
    'turn-external-ip': { type: 'string' },
    'turn-ttl': { type: 'string' },
    'turn-allow-private': { type: 'boolean' },
    'no-turn': { type: 'boolean' },
    'ice-servers': { type: 'string' },
    'relayed-mib': { type: 'string' },
    'relayed-minutes': { type: 'string' },
    'max-reservations': { type: 'string' }
  }
})
const env = process.env
const certFile = args.cert ?? env.RELAY_CERT
const keyFile = args.key ?? env.RELAY_KEY
if ((certFile == null) !== (keyFile == null)) throw new Error('give both --cert and --key (or RELAY_CERT and RELAY_KEY)')
const tls = certFile != null && keyFile != null ? { cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8') } : undefined
const tlsPort = Number(args['tls-port'] ?? env.RELAY_TLS_PORT ?? 443)
const tlsHost = args['tls-host'] ?? env.RELAY_TLS_HOST ?? '0.0.0.0'
const announce = (args.announce ?? env.RELAY_ANNOUNCE ?? '').split(',').map(s => s.trim()).filter(s => s !== '')

const host = args.host ?? env.RELAY_HOST
const logError = printableLog(line => { console.error(line) })
const list = (v: string | undefined): string[] => (v ?? '').split(',').map(s => s.trim()).filter(s => s !== '')
const num = (v: string | undefined): number | undefined => v == null ? undefined : Number(v)
// Pages reach our coturn by the relay's public name, or by an address that is not loopback or a wildcard.
const announcedName = announce.map(a => /^\/(?:dns[46]?|ip4|ip6)\/([^/]+)\//.exec(a)?.[1]).find(n => n != null && !/^(127\.|::1$|localhost$)/.test(n))
const realHost = [host, tls != null ? tlsHost : undefined].find(h => h != null && !/^(127\.|0\.0\.0\.0$|::$|::1$|localhost$)/.test(h))
const iceServersFile = args['ice-servers'] ?? env.RELAY_ICE_SERVERS
const ice = await startIceConfig({
  coturn: args['no-turn'] === true
    ? false
    : {
        stateDir: args['state-dir'] ?? env.LIGHTCAFE_STATE_DIR ?? '.lightcafe',
        host: args['turn-host'] ?? env.RELAY_TURN_HOST ?? announcedName ?? realHost,
        listen: list(args['turn-listen'] ?? env.RELAY_TURN_LISTEN),
        port: Number(args['turn-port'] ?? env.RELAY_TURN_PORT ?? 3478),
        minPort: num(args['turn-min-port']),
        maxPort: num(args['turn-max-port']),
        externalIp: args['turn-external-ip'],
        allowPrivatePeers: args['turn-allow-private'] === true
      },
  extra: iceServersFile != null ? await readIceServersFile(iceServersFile) : [],
  ttlSeconds: num(args['turn-ttl'])
})

const relay = await startRelay({
  port: Number(args.port ?? env.RELAY_PORT ?? 0),
  host,
  // Kept across restarts: the peer id is part of every address in relays.json.
  keyFile: args['key-file'] ?? env.RELAY_KEY_FILE ?? '.lightcafe/relay.key',
  tls,
  listen: tls != null ? [`/ip4/${tlsHost}/tcp/${tlsPort}/tls/ws`] : [],
  announce,
  limits: {
    ...(args['relayed-mib'] != null ? { relayedDataLimit: BigInt(Math.round(Number(args['relayed-mib']) * 1048576)) } : {}),
    ...(args['relayed-minutes'] != null ? { relayedDurationLimitMs: Number(args['relayed-minutes']) * 60_000 } : {}),
    ...(args['max-reservations'] != null ? { maxReservations: Number(args['max-reservations']) } : {})
  },
  iceServers: ice.servers.length > 0 ? peer => ice.forRequester(peer) : undefined
}).catch(async (err: NodeJS.ErrnoException) => {
  await ice.stop()
  // A one-host setup whose web server already holds 443: the relay goes behind it instead.
  if (err.code === 'EADDRINUSE') logError(`relay: port ${/:(\d+)$/.exec(err.message)?.[1] ?? ''} is in use (the app's web server on 443?): run the relay on loopback behind that server, or give --tls-port another port (docs/DEPLOY.md)`)
  throw err
})
// The servers' URLs only: credentials are minted per page and never printed.
logError(ice.coturn != null ? `STUN/TURN: coturn on port ${ice.coturn.port} (${ice.servers[0].urls.join(' ')}), log ${ice.coturn.logFile}` : `STUN/TURN: our coturn not started (${ice.skipped ?? ''})`)
printableLog(line => { console.log(line) })(JSON.stringify({ relay: relay.multiaddrs, iceServers: ice.servers.map(s => s.urls) }))

async function shutdown (): Promise<void> {
  setTimeout(() => process.exit(1), 3_000).unref()
  await Promise.allSettled([relay.stop(), ice.stop()])
  process.exit(0)
}
process.on('SIGINT', () => { void shutdown() })
process.on('SIGTERM', () => { void shutdown() })
