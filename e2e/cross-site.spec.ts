import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startStaticServer } from '../relay/static-server.ts'
import { expect, test } from './fixtures.ts'
import { makeCafe } from './helpers.ts'
import type { StaticServer } from '../relay/static-server.ts'

/**
 * Another web page cannot use this device's local API: not by posting a form to it (a
 * navigation, which our service worker sees), not by a no-cors fetch, not by a link to a route
 * that reads a secret. Each attacker page is served by a second server: another port is another
 * origin (same site), and in the test network namespace 10.77.0.1 is another site.
 */

const attackPages = (app: string): Record<string, string> => ({
  'form.html': `<!doctype html><form id="f" method="POST" action="${app}/api/v0/tokens" enctype="text/plain"><input name="x" value="y"></form><script>document.getElementById('f').submit()</script>`,
  'form-recover.html': `<!doctype html><form id="f" method="POST" action="${app}/api/v0/cafes/messages"></form><script>document.getElementById('f').submit()</script>`,
  'nocors.html': `<!doctype html><script>fetch('${app}/api/v0/tokens', { method: 'POST', mode: 'no-cors', body: 'x' }).then(() => { document.title = 'sent' }, e => { document.title = 'failed ' + e })</script>`,
  'link.html': `<!doctype html><a id="a" href="${app}/api/v0/account/mnemonic">phrase</a><script>document.getElementById('a').click()</script>`
})

test('pages of other origins and sites cannot mint tokens, call cafes or read the recovery phrase through the local API', async ({ env, peers }) => {
  test.setTimeout(120_000)
  const cafe = await peers('cafe')
  await makeCafe(cafe)
  const mnemonic = (await cafe.api('GET', '/api/v0/account/mnemonic')).body.mnemonic as string
  expect(mnemonic.split(' ').length).toBeGreaterThanOrEqual(12) // the app itself still reads it
  const tokensBefore = (await cafe.api('GET', '/api/v0/tokens')).body.length as number

  const dir = await mkdtemp(join(tmpdir(), 'lightcafe-attacker-'))
  const servers: StaticServer[] = []
  try {
    for (const [name, html] of Object.entries(attackPages(env.web.url))) await writeFile(join(dir, name), html)
    servers.push(await startStaticServer({ root: dir, port: 0, relays: () => [] }))
    if (process.env.LIGHTCAFE_IN_NETNS === '1') servers.push(await startStaticServer({ root: dir, port: 0, host: '10.77.0.1', relays: () => [] }))

    for (const attacker of servers) {
      // The attacker's page opens in the cafe's own browser profile, next to the running node.
      const page = await cafe.context.newPage()
      try {
        for (const form of ['form.html', 'form-recover.html']) {
          const answer = page.waitForResponse(r => r.url().startsWith(env.web.url + '/api/v0/'))
          await page.goto(`${attacker.url}/${form}`)
          const res = await answer
          expect(res.status(), `${attacker.url}/${form}`).toBe(403)
          expect((await res.json()).error.reason).toBe('CROSS_SITE_REFUSED')
        }

        await page.goto(`${attacker.url}/nocors.html`)
        await expect(page).toHaveTitle(/sent|failed/)

        const phrase = page.waitForResponse(r => r.url() === `${env.web.url}/api/v0/account/mnemonic`)
        await page.goto(`${attacker.url}/link.html`)
        const shown = await phrase
        expect(shown.status()).toBe(403)
        expect(await shown.text()).not.toContain(mnemonic.split(' ')[0] + ' ' + mnemonic.split(' ')[1])
      } finally {
        await page.close()
      }
    }

    // Nothing was minted; the app's own requests still work, and its shell still opens by navigation.
    const tokensAfter = await cafe.api('GET', '/api/v0/tokens')
    expect(tokensAfter.status).toBe(200)
    expect(tokensAfter.body.length).toBe(tokensBefore)
    const page = await cafe.context.newPage()
    const shell = await page.goto(`${env.web.url}/`)
    expect(shell?.status()).toBe(200)
    await page.close()
    expect((await cafe.api('POST', '/api/v0/tokens')).status).toBe(201)
  } finally {
    await Promise.allSettled(servers.map(async s => { await s.stop() }))
    await rm(dir, { recursive: true, force: true })
  }
})
