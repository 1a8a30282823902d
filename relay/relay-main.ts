import './polyfill.ts'
import { startRelay } from './relay.ts'

/** The relay alone, as its own process (tests restart it). Prints one JSON line once listening. */
const relay = await startRelay({ port: Number(process.env.RELAY_PORT ?? 0), keyFile: process.env.RELAY_KEY_FILE })
console.log(JSON.stringify({ relay: relay.multiaddrs }))

async function shutdown (): Promise<void> {
  setTimeout(() => process.exit(1), 3_000).unref()
  await relay.stop().catch(() => {})
  process.exit(0)
}
process.on('SIGINT', () => { void shutdown() })
process.on('SIGTERM', () => { void shutdown() })
