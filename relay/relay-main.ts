import './polyfill.ts'
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { startRelay } from './relay.ts'
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
    'key-file': { type: 'string' }
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

const relay = await startRelay({
  port: Number(args.port ?? env.RELAY_PORT ?? 0),
  host: args.host ?? env.RELAY_HOST,
  // Kept across restarts: the peer id is part of every address in relays.json.
  keyFile: args['key-file'] ?? env.RELAY_KEY_FILE ?? '.lightcafe/relay.key',
  tls,
  listen: tls != null ? [`/ip4/${tlsHost}/tcp/${tlsPort}/tls/ws`] : [],
  announce
})
printableLog(line => { console.log(line) })(JSON.stringify({ relay: relay.multiaddrs }))

async function shutdown (): Promise<void> {
  setTimeout(() => process.exit(1), 3_000).unref()
  await relay.stop().catch(() => {})
  process.exit(0)
}
process.on('SIGINT', () => { void shutdown() })
process.on('SIGTERM', () => { void shutdown() })
