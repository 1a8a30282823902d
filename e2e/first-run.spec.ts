import { resolve } from 'node:path'
import { startStaticServer } from '../relay/static-server.ts'
import { axeViolations } from './a11y.ts'
import { expect, test } from './fixtures.ts'
import { makeCafe } from './helpers.ts'
import type { Page } from 'playwright-core'

/** The page at a phone's and a tablet's width, screenshots kept with the test's output. */
async function shoot (page: Page, name: string): Promise<void> {
  for (const [width, height, size] of [[390, 844, 'phone'], [820, 1180, 'tablet']] as const) {
    await page.setViewportSize({ width, height })
    await page.screenshot({ path: test.info().outputPath(`${name}-${size}-${width}.png`), fullPage: true })
    expect(await page.evaluate(() => document.documentElement.scrollWidth), `${name} at ${width}px scrolls sideways`).toBeLessThanOrEqual(width)
  }
}

/** The nav's group titles, in order. */
async function navGroups (page: Page): Promise<string[]> {
  return page.locator('.nav-group').allTextContents()
}

test('a fresh profile is asked what the device is for; "Be a cafe" turns cafe mode on and lands on the overview', async ({ peers }) => {
  const device = await peers('tablet', { role: null })
  const chooser = device.page.getByTestId('first-run')
  await expect(chooser).toBeVisible()
  await expect(chooser.getByRole('heading', { name: 'What is this device for?' })).toBeFocused()
  await expect(chooser.getByRole('button')).toHaveText(['Be a cafe for others', 'Join a cafe', 'Just use it'])
  await expect(device.page.getByRole('navigation', { name: 'Views' })).toHaveCount(0) // the question is the page
  for (const scheme of ['light', 'dark'] as const) {
    await device.page.emulateMedia({ colorScheme: scheme })
    expect(await axeViolations(device.page), `first-run chooser (${scheme})`).toEqual([])
  }
  await device.page.emulateMedia({ colorScheme: 'light' })
  await shoot(device.page, 'first-run')

  await device.page.getByTestId('role-cafe').click()
  await expect(device.page.getByTestId('view-overview')).toBeVisible()
  await expect(device.page.locator('#overview-title')).toBeFocused()
  await expect.poll(async () => (await device.api('GET', '/api/v0/cafe')).body.enabled).toBe(true)
  await expect(device.page.getByTestId('cafe-enabled')).toBeChecked()
  expect(await navGroups(device.page)).toEqual(['This cafe', 'This device'])
  // Technical detail is folded away until asked for.
  const details = device.page.getByTestId('overview-details')
  await expect(device.page.getByTestId('peer-id')).toBeHidden()
  await expect(device.page.getByTestId('reachability')).toContainText('Other devices can reach this one', { timeout: 30_000 })
  await shoot(device.page, 'cafe-overview')
  await details.locator('summary').click()
  await expect(device.page.getByTestId('peer-id')).toHaveText(/^12D3Koo/)
  await expect(device.page.getByTestId('relay').first()).toBeVisible()
  expect(await axeViolations(device.page), 'overview, details open').toEqual([])

  // Asked once: the answer is kept.
  await device.reload()
  await expect(device.page.getByTestId('view-overview')).toBeVisible()
  await expect(device.page.getByTestId('first-run')).toHaveCount(0)
})

test('"Join a cafe" lands on My cafes; a guest arriving by an invitation is not asked and sees the confirmation', async ({ peers }) => {
  const cafe = await peers('cafe')
  await makeCafe(cafe)
  expect((await cafe.api('PUT', '/api/v0/cafe', { name: 'Corner Cafe' })).status).toBe(200)
  await cafe.page.getByTestId('invite').click()
  // The link is filled in once the token is minted (a call to the node): read it then, not before.
  await expect(cafe.page.getByTestId('invite-link')).toHaveAttribute('href', /#/)
  const href = (await cafe.page.getByTestId('invite-link').getAttribute('href'))!
  expect(new URL(href).origin).toBe(new URL(cafe.page.url()).origin) // one machine: no LAN origin to give

  const phone = await peers('phone', { role: null, url: href })
  const joined = phone.page.getByTestId('joined')
  await expect(joined).toHaveText(/^You joined Corner Cafe\. Your backups and messages now go through it\./)
  await expect(joined).toBeFocused()
  await expect(phone.page.getByTestId('view-cafes')).toBeVisible()
  await expect(phone.page.getByTestId('first-run')).toHaveCount(0)
  expect(await navGroups(phone.page)).toEqual(['This device', 'This cafe'])
  await expect(phone.page.getByTestId('cafe-list')).toContainText('Corner Cafe — signed in')
  // The cafe's peer id and how it is reached: behind Details.
  await expect(phone.page.getByTestId('cafe-health')).toBeHidden()
  for (const scheme of ['light', 'dark'] as const) {
    await phone.page.emulateMedia({ colorScheme: scheme })
    expect(await axeViolations(phone.page), `guest landing (${scheme})`).toEqual([])
  }
  await phone.page.emulateMedia({ colorScheme: 'light' })
  await shoot(phone.page, 'guest-landing')
  await phone.page.getByTestId('cafes-details').locator('summary').click()
  await expect(phone.page.getByTestId('cafe-health')).toHaveText(/^connected|^not connected/)
  // Its next steps are its own views.
  await joined.getByRole('link', { name: 'Back up a file' }).click()
  await expect(phone.page.getByTestId('view-backups')).toBeVisible()
  // With no address given, a guest opens on its cafes.
  await phone.page.goto(new URL('/', href).toString())
  await phone.ready()
  await expect(phone.page.getByTestId('view-cafes')).toBeVisible()

  // "Join a cafe" from the chooser: My cafes, with how to join.
  const other = await peers('other', { role: null })
  await other.page.getByTestId('role-guest').click()
  await expect(other.page.getByTestId('view-cafes')).toBeVisible()
  await expect(other.page.getByTestId('view-cafes')).toContainText('open the invitation link from a cafe\'s screen')
  expect(await navGroups(other.page)).toEqual(['This device', 'This cafe'])
  expect((await other.api('GET', '/api/v0/cafe')).body.enabled).toBe(false)
})

test('the app opened over plain http from another address explains why it cannot run and links the https address', async ({ browser, env }) => {
  // The same build on the namespace's non-loopback address: an insecure origin to Chromium.
  const lan = await startStaticServer({ root: resolve('dist'), port: 0, host: '10.77.0.1', relays: () => env.relay.multiaddrs })
  const context = await browser.newContext()
  try {
    const page = await context.newPage()
    const errors: string[] = []
    page.on('pageerror', err => { errors.push(err.message) })
    page.on('console', msg => { if (msg.type() === 'error') errors.push(msg.text()) })
    const port = new URL(lan.url).port
    await page.goto(`${lan.url}/#join=12D3KooWCafe&token=tok`)
    const box = page.getByTestId('insecure-origin')
    await expect(box.getByRole('heading', { name: 'Lightcafe cannot run at this address' })).toBeVisible()
    await expect(box).toContainText('only to pages served over HTTPS, or from this device itself')
    await expect(box).toContainText(`http://10.77.0.1:${port}`)
    // The secure address keeps the invitation; no LAN mode here, so no setup page to name.
    await expect(page.getByTestId('https-link')).toHaveAttribute('href', `https://10.77.0.1:${port}/#join=12D3KooWCafe&token=tok`)
    await expect(page.getByTestId('https-link')).toHaveText(`https://10.77.0.1:${port}/`)
    await expect(page.getByTestId('setup-link')).toHaveCount(0)
    expect(await page.evaluate(() => isSecureContext)).toBe(false)
    // Nothing of the app ran: no node, no service worker registered.
    expect(await page.evaluate(async () => 'lightcafe' in globalThis || ((await navigator.serviceWorker?.getRegistrations()) ?? []).length > 0)).toBe(false)
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme })
      expect(await axeViolations(page), `insecure-origin page (${scheme})`).toEqual([])
    }
    await page.emulateMedia({ colorScheme: 'light' })
    await shoot(page, 'insecure-origin')
    expect(errors).toEqual([])
  } finally {
    await context.close()
    await lan.stop()
  }
})
