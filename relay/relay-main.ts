import './polyfill.ts'
import { readFile } from 'node:fs/promises'
import { startRelay } from './relay.ts'
import { UsageError, parseRelayArgs } from './relay-args.ts'
import { readIceServersFile, startIceConfig } from './turn/ice-config.ts'
import { printableLog } from '../src/shared/printable.ts'
import { trustedProxy } from './client-address.ts'

/**
 * The relay alone, as its own process (tests restart it; `npm run relay` for a public host).
 * Prints one JSON line once listening. Options (or env); numbers must be whole numbers in range,
 * else it says which and exits 2:
 *   --port / RELAY_PORT           ws port (default 0: any)
 *   --host / RELAY_HOST           ws address (default 127.0.0.1; a TLS proxy in front keeps it there)
 *   --cert, --key / RELAY_CERT, RELAY_KEY   PEM files: also listen with TLS (/tls/ws) on --tls-port
 *   --tls-port / RELAY_TLS_PORT   default 443
 *   --tls-host / RELAY_TLS_HOST   default 0.0.0.0
 *   --announce / RELAY_ANNOUNCE   comma-separated multiaddrs peers are told, e.g. /dns4/relay.example.org/tcp/443/tls/ws
 *   --key-file / RELAY_KEY_FILE   the relay's libp2p key (default .lightcafe/relay.key)
 *   --state-dir / LIGHTCAFE_STATE_DIR   where coturn's config, secret and log go (default .lightcafe)
 *   --trusted-proxy / RELAY_TRUSTED_PROXY   addresses or CIDR ranges of a reverse proxy in front (e.g. 127.0.0.1):
 *                                 its connections count as the client its forwarding header names
 *                                 (per-address bounds, libp2p's per-host limits); others' headers are ignored
 *   --proxy-header / RELAY_PROXY_HEADER     the header that proxy sets: x-forwarded-for (default) or forwarded
 * STUN/TURN (coturn, Debian's `coturn`, started beside the relay when installed; if it cannot
 * start, the relay runs without it and says why):
 *   --turn-host / RELAY_TURN_HOST       the name or address pages reach it by (default: the
 *                                       --announce DNS name, else --host when it is a real address)
 *   --turn-port / RELAY_TURN_PORT       UDP and TCP (default 3478; 0: a free one)
 *   --turn-tls-port                     also TURN over TLS (turns:) on this port, with --cert/--key
 *                                       (443 for networks that pass only web ports: needs an address
 *                                       the relay's own TLS port is not on, see --turn-listen)
 *   --turn-listen / RELAY_TURN_LISTEN   comma-separated addresses to listen on (default every one)
 *   --turn-min-port, --turn-max-port    UDP relay ports (default 49152–65535)
 *   --turn-external-ip                  public[/private], for a host behind 1:1 NAT (cloud VMs)
 *   --turn-ttl                          credential lifetime in seconds (default 86400; 900–604800)
 *   --turn-max-mbps                     Mbit/s per allocation, each way (default 20)
 *   --turn-total-mbps                   Mbit/s of all allocations, each way (default 800)
 *   --turn-user-quota, --turn-total-quota   allocations per credential (32) and in all (4096)
 *   --turn-allow-private                relay to private addresses too (off: a public TURN is no proxy into private networks)
 *   --no-turn                           do not start coturn
 *   --ice-servers / RELAY_ICE_SERVERS   a JSON file of other STUN/TURN servers (see relay/turn/ice-config.ts)
 * Relayed connections (circuits: WebRTC signalling, and the last resort where no WebRTC pair
 * forms; defaults in RELAY_LIMITS):
 *   --relayed-mib          bytes per circuit, in MiB (both ways together; default 32)
 *   --relayed-minutes      time a circuit may live (default 10)
 *   --relayed-total-mbps   Mbit/s all circuits carry together, both ways counted (default 100)
 *   --max-circuits         circuits open at once, in all (default 512)
 *   --relayed-per-address  circuits open at once asked from one address (default 64)
 *   --max-reservations     peers reachable through the relay at once (default 256)
 */
const logError = printableLog(line => { console.error(line) })
let args: ReturnType<typeof parseRelayArgs>
try {
  args = parseRelayArgs(process.argv.slice(2))
} catch (err) {
  if (!(err instanceof UsageError)) throw err
  logError(`relay: ${err.message}`)
  process.exit(2)
}
// A proxy named wrongly is a usage error too: said plainly, exit 2.
let trusted: ReturnType<typeof trustedProxy> | undefined
try {
  trusted = args.trustedProxy != null ? trustedProxy(args.trustedProxy.spec, args.trustedProxy.header) : undefined
} catch (err) {
  logError(`relay: ${(err as Error).message}`)
  process.exit(2)
}
const tls = args.cert != null && args.key != null ? { cert: await readFile(args.cert, 'utf8'), key: await readFile(args.key, 'utf8') } : undefined

const ice = await startIceConfig({
  coturn: args.turn === false
    ? false
    : {
        ...args.turn,
        stateDir: args.stateDir,
        ...(args.turn.tlsPort != null ? { tls: { port: args.turn.tlsPort, cert: args.cert!, key: args.key! } } : {})
      },
  extra: args.iceServersFile != null ? await readIceServersFile(args.iceServersFile) : [],
  ttlSeconds: args.turnTtl
})

const relay = await startRelay({
  port: args.port,
  host: args.host,
  // Kept across restarts: the peer id is part of every address in relays.json.
  keyFile: args.keyFile,
  tls,
  listen: tls != null ? [`/ip4/${args.tlsHost}/tcp/${args.tlsPort}/tls/ws`] : [],
  announce: args.announce,
  limits: args.limits,
  ...(trusted != null ? { trustedProxy: trusted } : {}),
  iceServers: ice.servers.length > 0 ? (peer, source) => ice.forRequester(peer, { source }) : undefined
}).catch(async (err: NodeJS.ErrnoException) => {
  await ice.stop()
  // A one-host setup whose web server already holds 443: the relay goes behind it instead.
  if (err.code === 'EADDRINUSE') logError(`relay: port ${/:(\d+)$/.exec(err.message)?.[1] ?? ''} is in use (the app's web server on 443?): run the relay on loopback behind that server, or give --tls-port another port (docs/DEPLOY.md)`)
  throw err
})
// The servers' URLs only: credentials are minted per page and never printed.
if (trusted != null) logError(`trusting the proxy at ${trusted.describe} to name its peers`)
logError(ice.coturn != null ? `STUN/TURN: coturn on port ${ice.coturn.port}${ice.coturn.tlsPort != null ? ` and TLS ${ice.coturn.tlsPort}` : ''} (${ice.servers[0].urls.join(' ')}), log ${ice.coturn.logFile}` : `STUN/TURN: our coturn not started (${ice.skipped ?? ''})`)
for (const w of ice.coturn?.warnings ?? []) logError(`STUN/TURN: ${w}`)
printableLog(line => { console.log(line) })(JSON.stringify({ relay: relay.multiaddrs, iceServers: ice.servers.map(s => s.urls) }))

async function shutdown (): Promise<void> {
  setTimeout(() => process.exit(1), 3_000).unref()
  await Promise.allSettled([relay.stop(), ice.stop()])
  process.exit(0)
}
process.on('SIGINT', () => { void shutdown() })
process.on('SIGTERM', () => { void shutdown() })
