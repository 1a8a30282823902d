import '../relay/polyfill.ts'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { DEFAULT_PORTS, startNodeCafe } from './node-cafe.ts'
import { runCommand } from './cli.ts'
import { printableLog } from '../src/shared/printable.ts'
import { trustedProxy } from '../relay/client-address.ts'

/**
 * `npm run cafe`: the headless cafe. With a command (`token`, `clients`, `settings`) it asks the
 * running cafe through its owner API instead (see cli.ts). Options (or env):
 *   --dir / LIGHTCAFE_CAFE_DIR     state (default .lightcafe/cafe)
 *   --host / CAFE_HOST             address libp2p and HTTP listen on (default 0.0.0.0)
 *   --tcp-port, --ws-port, --wss-port, --http-port, --owner-port   (4002, 4003, 4004, 8090, 8091)
 *   --cert, --key                  PEM files: also WSS on --wss-port (the LAN certificate: .lightcafe/tls/server.pem|key)
 *   --relay                        a relay multiaddr (repeatable; default: none)
 *   --announce                     comma-separated multiaddrs to announce instead of the listening ones
 *   --name                         the cafe's name (saved in its settings)
 *   --app                          the app's origin for invitation links (default http://127.0.0.1:8080)
 *   --trusted-proxy / CAFE_TRUSTED_PROXY   addresses or CIDR ranges of a reverse proxy in front of the HTTP port:
 *                                  its requests count as the client its header names (caps, rate limits)
 *   --proxy-header / CAFE_PROXY_HEADER     the header it sets: x-forwarded-for (default) or forwarded
 */
const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    dir: { type: 'string' },
    host: { type: 'string' },
    'tcp-port': { type: 'string' },
    'ws-port': { type: 'string' },
    'wss-port': { type: 'string' },
    'http-port': { type: 'string' },
    'owner-port': { type: 'string' },
    cert: { type: 'string' },
    key: { type: 'string' },
    relay: { type: 'string', multiple: true },
    announce: { type: 'string' },
    name: { type: 'string' },
    app: { type: 'string' },
    'trusted-proxy': { type: 'string' },
    'proxy-header': { type: 'string' }
  }
})
const env = process.env
const dir = args.dir ?? env.LIGHTCAFE_CAFE_DIR ?? '.lightcafe/cafe'
const app = args.app ?? env.LIGHTCAFE_APP ?? 'http://127.0.0.1:8080'
const time = (): string => new Date().toISOString().slice(11, 19)
const log = printableLog(line => { console.log(`${time()} ${line}`) })

if (positionals.length > 0 && positionals[0] !== 'run') {
  process.exitCode = await runCommand(positionals, { dir, app })
} else {
  const port = (name: string, fallback: number): number => {
    const v = args[name as 'tcp-port'] ?? env[`CAFE_${name.replace('-port', '').toUpperCase()}_PORT`]
    return v == null ? fallback : Number(v)
  }
  if ((args.cert == null) !== (args.key == null)) throw new Error('give both --cert and --key')
  const tls = args.cert != null && args.key != null ? { cert: await readFile(args.cert, 'utf8'), key: await readFile(args.key, 'utf8') } : undefined
  const proxySpec = args['trusted-proxy'] ?? env.CAFE_TRUSTED_PROXY
  const trusted = proxySpec != null ? trustedProxy(proxySpec, args['proxy-header'] ?? env.CAFE_PROXY_HEADER) : undefined
  const t0 = performance.now()
  const node = await startNodeCafe({
    dir,
    host: args.host ?? env.CAFE_HOST,
    ports: { tcp: port('tcp-port', DEFAULT_PORTS.tcp), ws: port('ws-port', DEFAULT_PORTS.ws), wss: port('wss-port', DEFAULT_PORTS.wss), http: port('http-port', DEFAULT_PORTS.http), owner: port('owner-port', DEFAULT_PORTS.owner) },
    tls,
    relays: args.relay ?? (env.CAFE_RELAYS ?? '').split(',').filter(s => s !== ''),
    announce: (args.announce ?? '').split(',').map(s => s.trim()).filter(s => s !== ''),
    ...(trusted != null ? { trustedProxy: trusted } : {}),
    log
  })
  // A headless cafe exists to serve: cafe mode is on from its first start (the owner may turn it off).
  const settings = await node.cafe.host.getSettings()
  if (!settings.enabled || (args.name != null && args.name !== settings.name)) await node.cafe.host.setSettings({ enabled: true, ...(args.name != null ? { name: args.name } : {}) })
  const startMs = Math.round(performance.now() - t0)
  const state = { pid: process.pid, peerId: node.libp2p.peerId.toString(), multiaddrs: node.multiaddrs, http: node.http.url, owner: node.owner.url, startMs }
  // Where the CLI (and tests) find the running cafe.
  await writeFile(join(dir, 'cafe.json'), `${JSON.stringify(state, null, 2)}\n`)
  log(`cafe ${state.peerId} started in ${startMs} ms (state in ${dir})`)
  for (const ma of state.multiaddrs) log(`  libp2p  ${ma}`)
  log(`  cafe API over HTTP  ${state.http}/cafe/v1   health ${state.http}/health`)
  log(`  owner API           ${state.owner}/api/v0 (Bearer: ${node.ownerSecretFile})`)
  if (trusted != null) log(`  trusting the proxy at ${trusted.describe} to name its clients`)
  log('invite a client: npm run cafe -- token create')

  let stopping = false
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return
    stopping = true
    log(`${signal}: stopping (open requests end, stores close)`)
    setTimeout(() => { log('stop took too long; exiting'); process.exit(1) }, 10_000).unref()
    await rm(join(dir, 'cafe.json'), { force: true })
    await node.stop()
    log('stopped')
    process.exit(0)
  }
  process.on('SIGINT', () => { void shutdown('SIGINT') })
  process.on('SIGTERM', () => { void shutdown('SIGTERM') })
}
