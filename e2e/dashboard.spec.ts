import { expect, test } from './fixtures.ts'
import { VIEWS } from '../src/ui/route.ts'
import { axeViolations } from './a11y.ts'
import { makeCafe, newToken, show } from './helpers.ts'
import type { Page } from 'playwright-core'

/** Moves focus with Tab only (bounded) until the element with this test id has it. */
async function tabTo (page: Page, testId: string): Promise<void> {
  for (let i = 0; i < 60; i++) {
    if (await page.evaluate((id) => document.activeElement?.getAttribute('data-testid') === id, testId)) return
    await page.keyboard.press('Tab')
  }
  throw new Error(`Tab never reached ${testId}`)
}

/** Elements sticking out past the viewport's right edge (a page that scrolls sideways on a phone). */
async function overflowing (page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth
    const out: string[] = []
    if (document.documentElement.scrollWidth > width + 1) out.push(`page scrollWidth ${document.documentElement.scrollWidth} > ${width}`)
    for (const el of document.querySelectorAll('body *')) {
      if (el.closest('.table-wrap') != null) continue // scrolls inside its own box
      const r = el.getBoundingClientRect()
      if (r.width > 0 && r.right > width + 1) out.push(`${el.tagName.toLowerCase()}[${el.getAttribute('data-testid') ?? ''}] right=${Math.round(r.right)}`)
    }
    return out
  })
}

test('pairing: the owner invites with the keyboard alone, the link registers a second profile in one step', async ({ peers }) => {
  const cafe = await peers('cafe')
  const { peerId: cafeId } = await makeCafe(cafe)
  await cafe.page.bringToFront()
  await tabTo(cafe.page, 'invite')
  await cafe.page.keyboard.press('Enter')
  const link = cafe.page.getByTestId('invite-link')
  await expect(link).toHaveAttribute('href', /#join=/)
  await expect(link).toBeFocused()
  await expect(cafe.page.getByTestId('invite-qr').locator('svg')).toHaveCount(1)
  const href = await link.getAttribute('href')
  // Cafe and token ride in the fragment: a browser never sends it to the server.
  const invitation = new URLSearchParams(new URL(href!).hash.slice(1))
  expect(invitation.get('join')).toBe(cafeId)
  expect(new URL(href!).search).toBe('')
  const inviteToken = invitation.get('token')!

  // The same flow for a bare token, keyboard only: to the Clients view, then its button.
  await tabTo(cafe.page, 'nav-clients')
  await cafe.page.keyboard.press('Enter')
  await expect(cafe.page.getByTestId('view-clients')).toBeVisible()
  await expect(cafe.page.locator('#clients-title')).toBeFocused() // the view's heading takes focus
  await tabTo(cafe.page, 'create-token')
  await cafe.page.keyboard.press('Enter')
  await expect(cafe.page.getByTestId('new-token')).toHaveText(/\S{20,}/)

  // A fresh profile opening the link: no first-run question, it lands on its own views.
  const guest = await peers('guest', { role: null, url: href! })
  await expect(guest.page.getByTestId('joined')).toContainText('You joined cafe. Your backups and messages now go through it.')
  expect(guest.page.url()).not.toContain(inviteToken) // the token left the address bar
  await expect(guest.page.getByTestId('view-cafes')).toBeVisible() // and the guest sees its cafe
  await expect(guest.page.getByTestId('first-run')).toHaveCount(0)
  await expect(guest.page.getByTestId('cafe-list')).toContainText('signed in')
  const mine = (await guest.api('GET', '/api/v0/cafes')).body as any[]
  expect(mine.map(s => s.id)).toEqual([cafeId])
  const address = (await guest.api('GET', '/api/v0/account')).body.address
  await expect(cafe.page.getByTestId('client-list').locator(`td[title="${address}"]`)).toHaveCount(1)

  // The guest's own views show real data: a backup pinned at the cafe, a message (to itself,
  // through the cafe's inbox and pushed back), and the recovery phrase behind a warning.
  expect((await guest.api('PUT', '/api/v0/profile', { name: 'Guest' })).status).toBe(200)
  const file = await guest.page.evaluate(async () => (await (await fetch('/api/v0/files', { method: 'POST', body: new Uint8Array(100_000).fill(7) })).json()).cid as string)
  expect((await guest.api('POST', '/api/v0/backups', { cid: file })).status).toBe(202)
  await expect(guest.page.getByTestId('backup')).toContainText('pinned', { timeout: 30_000 })
  await show(guest, 'messages')
  await guest.page.getByTestId('msg-to').fill(address)
  await guest.page.getByTestId('msg-text').fill('a note to myself')
  await guest.page.getByTestId('msg-text').press('Tab')
  await guest.page.keyboard.press('Enter')
  // The open Messages view shows it as it arrives (and so it is read).
  await expect(guest.page.getByTestId('message-list')).toContainText('a note to myself', { timeout: 30_000 })
  await expect(guest.page.getByTestId('unread')).toContainText('0 unread of 1')
  await show(guest, 'profile')
  guest.page.once('dialog', dialog => { void dialog.accept() })
  await guest.page.getByTestId('reveal-mnemonic').click()
  await expect(guest.page.getByTestId('mnemonic')).toHaveText(/^(\w+ ){11,23}\w+$/)

  // The owner renames the cafe in its settings form.
  await show(cafe, 'settings')
  await cafe.page.getByTestId('cafe-name').fill('Tablet Cafe')
  await cafe.page.getByTestId('cafe-name').press('Enter')
  await expect.poll(async () => (await cafe.api('GET', '/api/v0/cafe')).body.name).toBe('Tablet Cafe')
  await expect(cafe.page.getByTestId('title')).toHaveText('Tablet Cafe')

  // Used once: the same link on a third profile is refused with a clear message.
  const third = await peers('third')
  await third.page.goto(href!)
  await third.ready()
  await expect(third.page.getByTestId('message')).toContainText('Could not join the cafe')
  await expect(third.page.getByTestId('message')).toContainText('TOKEN_USED')
  // …and the invitation waits in the form for another try (with a token of its own).
  await expect(third.page.getByTestId('view-cafes')).toBeVisible()
  await expect(third.page.getByLabel('Access token', { exact: true })).toHaveValue(inviteToken)
  await expect(third.page.getByLabel('Cafe peer id or address')).toHaveValue(cafeId)
  expect(third.page.url()).not.toContain(inviteToken)
})

test('the dashboard is installable by Chromium\'s criteria, shows kiosk state and a disconnection banner, and fits phone and tablet screens', async ({ profiles, env }) => {
  // An on-disk profile: Chromium never offers to install from an incognito context.
  const cafe = await profiles('cafe-kiosk')
  await makeCafe(cafe)
  const cdp = await cafe.context.newCDPSession(cafe.page)
  const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors') as { installabilityErrors: Array<{ errorId: string }> }
  expect(installabilityErrors.map(e => e.errorId)).toEqual([])
  const manifest = await cdp.send('Page.getAppManifest') as { errors: unknown[], data?: string }
  expect(manifest.errors).toEqual([])
  expect(JSON.parse(manifest.data!)).toMatchObject({ display: expect.any(String), icons: expect.any(Array) })

  // Kiosk state: screen wake lock while a cafe, storage shown, no banner while connected.
  // Headless Chromium may refuse the lock itself; what matters is that a cafe asks for it.
  await expect(cafe.page.getByTestId('wake-lock')).toHaveText(/^(screen kept on|Tap to keep the screen on|refused: .*|not supported by this browser)$/)
  await expect(cafe.page.getByTestId('storage')).toContainText('MiB used')
  await expect(cafe.page.getByTestId('banner')).toBeHidden()

  // The relay goes away: the banner says so, and goes when it is back.
  const [, host, port] = /^\/ip4\/([^/]+)\/tcp\/(\d+)\//.exec(env.relay.multiaddrs[0]!)!
  const relayAt = `${host}:${port}`
  await env.stopRelay()
  await expect(cafe.page.getByTestId('banner')).toContainText('Disconnected from the relays', { timeout: 30_000 })
  // …naming the relay by its address, with the likely cause of a refused connection.
  await expect(cafe.page.getByTestId('banner').getByTestId('relay-problem')).toHaveText(`The relay at ${relayAt} refused the connection: the relay is not running there, or a firewall blocks port ${port}.`, { timeout: 30_000 })
  await expect(cafe.page.getByTestId('relay-cause')).toContainText(`The relay at ${relayAt} refused the connection`)
  await cafe.page.setViewportSize({ width: 390, height: 844 })
  await cafe.page.screenshot({ path: test.info().outputPath('phone-relay-down.png'), fullPage: true })
  await expect(cafe.page.getByTestId('reach')).toContainText('reconnecting')
  await env.startRelay()
  await expect(cafe.page.getByTestId('banner')).toBeHidden({ timeout: 30_000 })
  await expect(cafe.page.getByTestId('reach')).toContainText('online', { timeout: 30_000 })

  // Every view, at phone and tablet sizes: screenshots kept with the test's output, nothing wider than the screen.
  for (const [width, height, name] of [[360, 740, 'phone'], [800, 1280, 'tablet']] as const) {
    await cafe.page.setViewportSize({ width, height })
    for (const view of VIEWS) {
      await show(cafe, view.id)
      await cafe.page.screenshot({ path: test.info().outputPath(`${name}-${view.id}.png`), fullPage: true })
      expect(await overflowing(cafe.page), `${view.id} on a ${name} (${width}px)`).toEqual([])
    }
  }
})

test('every view passes axe\'s WCAG 2.1 A/AA checks (labels, names, contrast) in light and dark, with real data in it', async ({ peers }) => {
  test.setTimeout(180_000)
  const cafe = await peers('cafe')
  const client = await peers('client')
  const { peerId: cafeId } = await makeCafe(cafe)
  expect((await client.api('POST', '/api/v0/cafes', { cafe: cafeId, token: await newToken(cafe) })).status).toBe(201)
  await expect(cafe.page.getByTestId('nav-clients')).toContainText('1')
  for (const scheme of ['light', 'dark'] as const) {
    for (const peer of [cafe, client]) {
      await peer.page.emulateMedia({ colorScheme: scheme })
      for (const view of VIEWS) {
        await show(peer, view.id)
        expect(await axeViolations(peer.page), `${peer.name}: ${view.id} (${scheme})`).toEqual([])
      }
    }
  }
})
