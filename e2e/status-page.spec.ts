import { expect, test } from './fixtures.ts'
import { show } from './helpers.ts'

test('the status page shows identity, relay, cafe mode, tokens and clients, and drives registration', async ({ peers }) => {
  const cafe = await peers('cafe')
  const client = await peers('client')
  const info = (await cafe.api('GET', '/api/v0/peer')).body

  await expect(cafe.page.getByTestId('peer-id')).toHaveText(info.peerId)
  await expect(cafe.page.getByTestId('account')).toHaveText(info.address)
  await expect(cafe.page.getByTestId('relay').first()).toContainText('reserved')

  // Owner: turn cafe mode on and create a token with the buttons.
  await cafe.page.getByLabel('Offer cafe services to other peers').check()
  await expect.poll(async () => (await cafe.api('GET', '/api/v0/cafe')).body.enabled).toBe(true)
  await show(cafe, 'clients')
  await cafe.page.getByTestId('create-token').click()
  // Token creation is async: wait for the field to fill before reading it.
  await expect(cafe.page.getByTestId('new-token')).toHaveText(/^[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{43}$/)
  const token = (await cafe.page.getByTestId('new-token').textContent()) ?? ''
  await expect(cafe.page.getByTestId('token-list').locator('li')).toHaveCount(1)

  // Client: register through the form.
  await show(client, 'cafes')
  await client.page.getByLabel('Cafe peer id or address').fill(info.peerId)
  await client.page.getByLabel('Access token', { exact: true }).fill(token)
  await client.page.getByRole('button', { name: 'Register' }).click()
  await expect(client.page.getByTestId('message')).toHaveText('Registered.')
  await expect(client.page.getByTestId('cafe-list').locator('li')).toContainText('signed in, renews by itself')

  const clientAddress = (await client.api('GET', '/api/v0/account')).body.address as string
  await expect(cafe.page.getByTestId('client-list').locator('tr')).toHaveCount(1)
  await expect(cafe.page.getByTestId('client-list').locator('td').first()).toHaveAttribute('title', clientAddress)
  await expect(cafe.page.getByTestId('client-bytes')).toHaveText('0.00 MiB / 1024 MiB')
  await expect(cafe.page.getByTestId('token-list').locator('li')).toContainText('used by')
})
