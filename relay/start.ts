import './polyfill.ts'
import { resolve } from 'node:path'
import { startRelay } from './relay.ts'
import { startStaticServer } from './static-server.ts'

/** `npm start`: the local relay plus the built app, on loopback. PORT and RELAY_PORT are honoured. */
const port = Number(process.env.PORT ?? 8080)
const relayPort = Number(process.env.RELAY_PORT ?? 9090)
const root = resolve(process.env.LIGHTCAFE_DIST ?? 'dist')
const keyFile = process.env.RELAY_KEY_FILE ?? resolve('.lightcafe/relay.key')

const relay = await startRelay({ port: relayPort, keyFile })
const web = await startStaticServer({ root, port, relays: () => relay.multiaddrs })

console.log(`relay  ${relay.multiaddrs.join(' ')}`)
console.log(`Lightcafe is running at ${web.url}`)

let stopping = false
async function shutdown (): Promise<void> {
  if (stopping) return
  stopping = true
  const force = setTimeout(() => process.exit(1), 5_000)
  force.unref()
  await Promise.allSettled([web.stop(), relay.stop()])
  process.exit(0)
}
process.on('SIGINT', () => { void shutdown() })
process.on('SIGTERM', () => { void shutdown() })
