import '../relay/polyfill.ts'
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { startStaticServer } from '../relay/static-server.ts'

/**
 * The app's public host in the netlab: `dist/` over HTTPS with a relays.json written by hand
 * (as docs/DEPLOY.md tells an operator), like any static host. Env: SITE_HOST, SITE_PORT,
 * SITE_CERT, SITE_KEY (PEM files), SITE_RELAYS_JSON (the file). Prints "site <url>" when up.
 */
const env = process.env
const relaysJson = JSON.parse(await readFile(env.SITE_RELAYS_JSON!, 'utf8')) as unknown
const site = await startStaticServer({
  root: resolve('dist'),
  host: env.SITE_HOST,
  port: Number(env.SITE_PORT ?? 443),
  tls: { cert: await readFile(env.SITE_CERT!, 'utf8'), key: await readFile(env.SITE_KEY!, 'utf8') },
  relays: () => [],
  relaysFor: () => relaysJson
})
console.log(`site ${site.url}`)
process.on('SIGTERM', () => { void site.stop().finally(() => process.exit(0)) })
