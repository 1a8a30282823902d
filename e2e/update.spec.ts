import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { startStaticServer } from '../relay/static-server.ts'
import { expect, test, Peer } from './fixtures.ts'

/** The shell caches in the page's origin (one per service worker version). */
async function shellCaches (peer: Peer): Promise<string[]> {
  return peer.page.evaluate(async () => (await caches.keys()).filter(k => k.startsWith('lightcafe-shell-')))
}

test('a new deploy: the new service worker waits, the dashboard offers it, and one click moves the page to it', async ({ browser, env }) => {
  // A deployment of our own: a copy of the build behind its own server (its own origin).
  const root = await mkdtemp(join(tmpdir(), 'lightcafe-deploy-'))
  await cp(resolve('dist'), root, { recursive: true })
  const web = await startStaticServer({ root, port: 0, relays: () => env.relay.multiaddrs })
  let opened: Peer | undefined
  try {
    const { version } = JSON.parse(await readFile(join(root, 'shell.json'), 'utf8')) as { version: string }
    const kiosk = await Peer.open(browser, env, 'kiosk', web.url)
    opened = kiosk
    await expect.poll(async () => shellCaches(kiosk)).toEqual([`lightcafe-shell-${version}`])
    await expect(kiosk.page.getByTestId('update')).toBeHidden()

    // Deploy build 2: a changed page and a worker of a new version (as a rebuild makes them).
    const next = version.split('').reverse().join('')
    const sw = await readFile(join(root, 'sw.js'), 'utf8')
    expect(sw.split(version).length).toBeGreaterThan(1)
    await writeFile(join(root, 'sw.js'), sw.replaceAll(version, next))
    const html = await readFile(join(root, 'index.html'), 'utf8')
    await writeFile(join(root, 'index.html'), html.replace('<head>', '<head>\n  <meta name="lightcafe-build" content="2">'))

    // The browser looks for updates (on navigation, or the dashboard's half-hourly check).
    await kiosk.page.evaluate(async () => { await (await navigator.serviceWorker.getRegistration())!.update() })
    await expect(kiosk.page.getByTestId('update')).toBeVisible()
    await expect(kiosk.page.getByTestId('update')).toContainText('A new version of Lightcafe is ready')
    // Until the owner says so, the running cafe stays on the old worker and its cache.
    expect(await kiosk.page.evaluate(async () => (await navigator.serviceWorker.getRegistration())!.waiting != null)).toBe(true)
    expect(await shellCaches(kiosk)).toContain(`lightcafe-shell-${version}`)

    await Promise.all([
      kiosk.page.waitForEvent('load', { timeout: 30_000 }),
      kiosk.page.getByTestId('apply-update').click()
    ])
    await kiosk.ready()
    await expect(kiosk.page.locator('meta[name="lightcafe-build"]')).toHaveAttribute('content', '2')
    await expect.poll(async () => shellCaches(kiosk)).toEqual([`lightcafe-shell-${next}`])
    await expect(kiosk.page.getByTestId('update')).toBeHidden()
    expect(await kiosk.page.evaluate(async () => (await navigator.serviceWorker.getRegistration())!.waiting)).toBeNull()
  } finally {
    await opened?.close()
    await web.stop()
    await rm(root, { recursive: true, force: true })
  }
})
