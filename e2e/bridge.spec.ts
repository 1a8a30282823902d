import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test } from './engine-fixtures.ts'
import { Peer } from './env.ts'
import { FirefoxBrowser, FirefoxPeer } from './firefox.ts'
import { apiRoundTripMs, bridgeChecks, figures, registerAndBackUp } from './bridge-checks.ts'
import { processTree, rootProcessOf } from './proc-memory.ts'
import type { PageRun } from './bridge-checks.ts'

// The service worker bridge in the engines that can transfer streams, as they run it and forced
// to the fallback WebKit needs (chunks over a port with credit; `localStorage['lightcafe.bridge']
// = 'port'`), so the fallback is tested where it is not the default. Each test also prints its
// engine's figures (docs/notes/engines.md, "Engines"); e2e/webkit.spec.ts prints WebKit's.

test('Chromium: bodies cross the bridge as transferred streams and, forced, as chunks over a port, with the same answers', async ({ env, nodeCafe }) => {
  test.setTimeout(120_000)
  const root = await mkdtemp(join(tmpdir(), 'lightcafe-bridge-chromium-'))
  const dir = join(root, 'profile')
  const peer = await Peer.openPersistent(env, 'chromium', dir)
  try {
    const browserPid = await rootProcessOf(dir)
    expect(browserPid).toBeDefined()
    const run: PageRun = async (fn, arg) => peer.page.evaluate(fn as any, arg)
    const readyMs = await peer.page.evaluate(() => (globalThis as any).lightcafe.timings.readyMs as number)
    const streams = await bridgeChecks(run, 'stream', await processTree(browserPid!))
    const apiMs = await apiRoundTripMs(run)
    const node = await registerAndBackUp(peer.api.bind(peer), run, nodeCafe)
    console.log(figures('Chromium', { readyMs, apiMs, carrier: 'transferred streams', trip: streams, node }))

    await peer.page.evaluate(() => { localStorage.setItem('lightcafe.bridge', 'port') })
    await peer.reload()
    const ports = await bridgeChecks(run, 'port', await processTree(browserPid!))
    console.log(figures('Chromium (forced)', { readyMs, apiMs: await apiRoundTripMs(run), carrier: 'a port', trip: ports }))
  } finally {
    await peer.close()
    await rm(root, { recursive: true, force: true })
  }
})

test('Firefox: bodies cross the bridge as transferred streams and, forced, as chunks over a port, with the same answers', async ({ env, nodeCafe }) => {
  test.setTimeout(150_000)
  const firefox = await FirefoxBrowser.launch()
  try {
    const fox = await FirefoxPeer.open(firefox, 'firefox', env.web.url + '/')
    const browserPid = firefox.browser.process()?.pid
    expect(browserPid).toBeDefined()
    const run: PageRun = async (fn, arg) => fox.page.evaluate(fn as any, arg) as any
    const readyMs = await fox.page.evaluate(() => (globalThis as any).lightcafe.timings.readyMs as number)
    const streams = await bridgeChecks(run, 'stream', await processTree(browserPid!))
    const apiMs = await apiRoundTripMs(run)
    const node = await registerAndBackUp(fox.api.bind(fox), run, nodeCafe)
    console.log(figures(`Firefox ${await firefox.version()}`, { readyMs, apiMs, carrier: 'transferred streams', trip: streams, node }))

    await fox.page.evaluate(() => { localStorage.setItem('lightcafe.bridge', 'port') })
    await fox.page.reload({ waitUntil: 'load' })
    await fox.ready()
    const ports = await bridgeChecks(run, 'port', await processTree(browserPid!))
    console.log(figures('Firefox (forced)', { readyMs, apiMs: await apiRoundTripMs(run), carrier: 'a port', trip: ports }))
  } finally {
    await firefox.close()
  }
})
