import './polyfill.ts'
import { resolve } from 'node:path'
import { relayView, relaysJson } from './lan/relays-json.ts'
import { lanAddresses, mdnsName } from './lan/addresses.ts'
import { lanBanner, lanChange, prepareLan } from './lan/lan-mode.ts'
import { startSetupServer } from './lan/setup-server.ts'
import { startRelay } from './relay.ts'
import { startStaticServer } from './static-server.ts'
import { startIceConfig } from './turn/ice-config.ts'
import { sourceOf } from '../src/shared/source-address.ts'
import { printableLog } from '../src/shared/printable.ts'
import type { LanConfig } from './lan/lan-mode.ts'

/**
 * `npm start`: the local relay plus the built app, on loopback. PORT and RELAY_PORT are honoured.
 * `npm start -- --lan` (or LIGHTCAFE_LAN=1) also serves other devices of the LAN: the app over
 * HTTPS on every LAN address (HTTPS_PORT), the relay over WSS (WSS_PORT) with the same
 * certificate, and the setup page with the local CA over plain HTTP on PORT. The QR code and
 * invitations carry the default route's address; `--lan-address <ip>` (LIGHTCAFE_LAN_ADDRESS) picks another.
 */
const port = Number(process.env.PORT ?? 8080)
const relayPort = Number(process.env.RELAY_PORT ?? 9090)
const httpsPort = Number(process.env.HTTPS_PORT ?? 8443)
const wssPort = Number(process.env.WSS_PORT ?? 9443)
/** LAN mode's STUN/TURN (coturn, when installed): with mDNS-hidden host candidates, STUN still gives each device's LAN address. */
const turnPort = Number(process.env.TURN_PORT ?? 3478)
const root = resolve(process.env.LIGHTCAFE_DIST ?? 'dist')
const stateDir = resolve(process.env.LIGHTCAFE_STATE_DIR ?? '.lightcafe')
const keyFile = process.env.RELAY_KEY_FILE ?? resolve(stateDir, 'relay.key')
/** The LAN address for the QR code and invitations (default: the default route's interface). */
const at = process.argv.indexOf('--lan-address')
const lanAddress = at >= 0 ? process.argv[at + 1] : process.env.LIGHTCAFE_LAN_ADDRESS
const lanMode = process.argv.includes('--lan') || at >= 0 || process.env.LIGHTCAFE_LAN === '1'

interface Running { lan?: LanConfig, stop(): Promise<void> }

// Every line printable (addresses, host names and errors are not all ours); ours split by line.
const log = printableLog(line => { console.log(line) })
const logError = printableLog(line => { console.error(line) })

/** Relay and servers for the addresses up now (LAN mode: with a certificate covering them). */
async function serve (): Promise<Running> {
  const lan = lanMode ? await prepareLan({ stateDir, httpPort: port, httpsPort, wssPort, chosen: lanAddress }) : undefined
  const tls = lan != null ? { cert: lan.cert.cert, key: lan.cert.key } : undefined
  const ice = lan != null && process.env.LIGHTCAFE_TURN !== '0'
    ? await startIceConfig({ coturn: { stateDir, host: lan.hosts[0], listen: lan.hosts, port: turnPort, lanSubnets: lan.subnets } })
    : undefined
  const relay = await startRelay({
    port: relayPort,
    keyFile,
    tls,
    hideLoopback: lan != null,
    // Its loopback peers are this host's own browser; other devices come over the LAN addresses.
    exemptLoopback: true,
    listen: lan?.hosts.map(h => `/ip4/${h}/tcp/${wssPort}/tls/ws`),
    iceServers: ice?.coturn != null ? (peer, source) => ice.forRequester(peer, { source }) : undefined
  }).catch(async err => { await ice?.stop(); throw err })
  const servers: Array<{ url: string, stop: () => Promise<void> }> = []
  const stop = async (): Promise<void> => { await Promise.allSettled([...servers.map(async s => { await s.stop() }), relay.stop(), ice?.stop()]) }
  try {
    const view = relayView(relay.multiaddrs, lan?.hosts, httpsPort, port)
    // Each request gets TURN credentials of its own, on the LAN address it came to.
    const relaysFor = (local: string | undefined, remote: string | undefined): unknown =>
      relaysJson(local, view, host => ice?.forRequester('', { host, source: remote == null ? undefined : sourceOf(remote) }) ?? [])
    servers.push(await startStaticServer({ root, port, relays: () => relay.multiaddrs, relaysFor, exemptLoopback: true }))
    for (const host of lan?.hosts ?? []) {
      servers.push(await startStaticServer({ root, port: httpsPort, host, tls, relays: () => [], relaysFor }))
      servers.push(await startSetupServer({ host, port, context: { httpsOrigin: `https://${host}:${httpsPort}`, hostName: mdnsName(), ca: lan!.ca } }))
    }
  } catch (err) {
    await stop()
    throw err
  }
  log(`relay  ${relay.multiaddrs.join(' ')}`)
  if (ice != null) log(ice.coturn != null ? `STUN/TURN  coturn on UDP/TCP ${ice.coturn.port} (${lan!.hosts.map(h => `turn:${h}:${ice.coturn!.port}`).join(' ')})` : `STUN/TURN  not started: ${ice.skipped ?? ''}`)
  for (const w of ice?.coturn?.warnings ?? []) log(`STUN/TURN  ${w}`)
  if (lan != null) for (const line of lanBanner(lan).split('\n')) log(line)
  log(`Lightcafe is running at ${servers[0].url}`)
  return { lan, stop }
}

let running = await serve()
let stopping = false

// Addresses come and go (Wi-Fi changes) and certificates age: start again with a renewed
// certificate for the addresses up now. Pages reconnect to the relay by themselves.
let checking = false
const watch = lanMode
  ? setInterval(() => {
    const why = running.lan == null ? undefined : lanChange(running.lan.hosts, lanAddresses(), running.lan.cert.notAfter)
    if (why == null || checking || stopping) return
    checking = true
    log(`${why}: restarting the LAN servers…`)
    const before = running.lan!
    void (async () => {
      await running.stop()
      running = await serve()
    })().catch(err => {
      // Nothing is served now; serving no address makes the next check try again.
      logError(`LAN restart failed (trying again in 30 s): ${(err as Error).message}`)
      running = { lan: { ...before, hosts: [] }, stop: async () => {} }
    }).finally(() => { checking = false })
  }, 30_000)
  : undefined
watch?.unref()

async function shutdown (): Promise<void> {
  if (stopping) return
  stopping = true
  const force = setTimeout(() => process.exit(1), 5_000)
  force.unref()
  await running.stop()
  process.exit(0)
}
process.on('SIGINT', () => { void shutdown() })
process.on('SIGTERM', () => { void shutdown() })
