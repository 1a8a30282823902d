import { createHash } from 'node:crypto'
import { expect, test } from './fixtures.ts'
import { makeCafe, newToken, show } from './helpers.ts'
import type { Peer } from './env.ts'

const MiB = 1024 * 1024

/** A file of `size` bytes that no other test makes, as Playwright hands it to a file input. */
function payload (name: string, size: number): { name: string, mimeType: string, buffer: Buffer } {
  const buffer = Buffer.alloc(size)
  for (let i = 0; i < size; i += 4) buffer.writeUInt32LE((i * 2654435761) >>> 0, i)
  return { name, mimeType: 'application/octet-stream', buffer }
}

/** Records every value a meter takes, from now on, in the page (so a test can check the bar's course afterwards, whatever its pace). */
async function watchMeter (peer: Peer, testId: string): Promise<void> {
  await peer.page.evaluate((testId) => {
    const seen: number[] = []
    ;(globalThis as any).meterValues = seen
    const note = (): void => {
      const el = document.querySelector(`[data-testid="${testId}"]`)
      const v = el?.getAttribute('aria-valuenow')
      if (v != null && seen.at(-1) !== Number(v)) seen.push(Number(v))
    }
    new MutationObserver(note).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['aria-valuenow'] })
    note()
  }, testId)
}

async function meterValues (peer: Peer): Promise<number[]> {
  return peer.page.evaluate(() => (globalThis as any).meterValues as number[])
}

async function account (peer: Peer): Promise<string> {
  return (await peer.api('GET', '/api/v0/account')).body.address
}

test('the owner\'s views show a running cafe: connections and uptime, clients, storage chart, live activity with filters, settings that close registration, removal', async ({ peers }) => {
  test.setTimeout(180_000)
  const cafe = await peers('cafe')
  const alice = await peers('alice')
  const { peerId: cafeId } = await makeCafe(cafe)
  expect((await alice.api('POST', '/api/v0/cafes', { cafe: cafeId, token: await newToken(cafe) })).status).toBe(201)
  const aliceAddr = await account(alice)
  const row = cafe.page.getByTestId('client-list').locator('tr', { has: cafe.page.locator(`td[title="${aliceAddr}"]`) })

  await test.step('the overview: the client\'s direct WebRTC connection, the relay, a running uptime', async () => {
    // Overview: the client's direct WebRTC connection, the relay, a running uptime, online.
    await expect(cafe.page.getByTestId('connection').filter({ hasText: '(webrtc, direct)' })).not.toHaveCount(0)
    await expect(cafe.page.getByTestId('relay').first()).toContainText('reserved')
    await expect(cafe.page.getByTestId('reach')).toContainText('online · 1 peer')
    const up = await cafe.page.getByTestId('uptime').textContent()
    await expect(cafe.page.getByTestId('uptime')).not.toHaveText(up!)
  })

  await test.step('Alice backs up a file from her Backups view and snapshots a thread', async () => {
    // Alice backs up a file from her Backups view and snapshots a thread.
    await show(alice, 'backups')
    await alice.page.getByTestId('backup-file').setInputFiles(payload('notes.bin', 3 * MiB))
    await expect(alice.page.getByTestId('backup')).toContainText('pinned', { timeout: 60_000 })
    const [{ cid }] = (await alice.api('GET', '/api/v0/backups')).body
    expect((await alice.api('PUT', '/api/v0/threads/diary', { head: cid, meta: { title: 'diary' } })).status).toBe(200)
  })

  await test.step('the clients view: her row with what the cafe keeps for her', async () => {
    // Clients: her row with what the cafe keeps for her, and a badge in the nav.
    await show(cafe, 'clients')
    await expect(row.getByTestId('client-pins')).toHaveText('1')
    await expect(row.getByTestId('client-snapshots')).toHaveText('1')
    await expect(cafe.page.getByTestId('nav-clients')).toContainText('1')
  })

  await test.step('settings: a smaller quota shows in the table and the storage chart', async () => {
    // Settings: a smaller quota shows in the table and in the storage chart's bar.
    await show(cafe, 'settings')
    await cafe.page.getByTestId('cafe-quota').fill('64')
    await cafe.page.getByTestId('inbox-count').fill('500')
    await cafe.page.getByTestId('inbox-days').fill('3')
    await cafe.page.getByTestId('save-settings').click()
    await expect(cafe.page.getByTestId('message')).toHaveText('Settings saved.')
    await expect(cafe.page.getByTestId('save-settings')).toBeFocused() // the form was not rebuilt under the owner
    expect((await cafe.api('GET', '/api/v0/cafe')).body.inbox).toMatchObject({ perRecipientCount: 500, ttlMs: 3 * 86_400_000 })
    const view = ((await cafe.api('GET', '/api/v0/clients')).body as any[]).find(c => c.address === aliceAddr)
    expect(view.quota).toBe(64 * MiB)
    expect(view.bytes).toBeGreaterThan(3 * MiB)
    await show(cafe, 'storage')
    const bar = cafe.page.getByTestId('storage-client').filter({ hasText: '64 MiB' }).getByTestId('storage-bar')
    await expect(bar).toHaveAttribute('aria-valuenow', String(Math.round(100 * view.bytes / view.quota)))
    await expect(cafe.page.getByTestId('storage-total')).toHaveAttribute('aria-valuenow', /^\d+$/)
  })

  const bobAddr = await test.step('settings: closed to new accounts, then open again', async () => {
    // Settings: closed to new accounts. Bob is refused with the reason; registered Alice is not affected.
    await show(cafe, 'settings')
    await cafe.page.getByTestId('cafe-open').uncheck()
    await cafe.page.getByTestId('save-settings').click()
    await expect.poll(async () => (await cafe.api('GET', '/api/v0/cafe')).body.open).toBe(false)
    const bob = await peers('bob')
    const bobToken = await newToken(cafe)
    await show(bob, 'cafes')
    await bob.page.getByLabel('Cafe peer id or address').fill(cafeId)
    await bob.page.getByLabel('Access token', { exact: true }).fill(bobToken)
    await bob.page.getByRole('button', { name: 'Register' }).click()
    await expect(bob.page.getByTestId('message')).toContainText('REGISTRATION_CLOSED')
    expect((await alice.api('POST', `/api/v0/cafes/${cafeId}/refresh`)).status).toBe(200)
    await show(cafe, 'settings')
    await cafe.page.getByTestId('cafe-open').check()
    await cafe.page.getByTestId('save-settings').click()
    await expect.poll(async () => (await cafe.api('GET', '/api/v0/cafe')).body.open).toBe(true)
    await bob.page.getByRole('button', { name: 'Register' }).click()
    await expect(bob.page.getByTestId('message')).toHaveText('Registered.')
    return account(bob)
  })

  await test.step('activity: what happened, refusals marked, filtered', async () => {
    // Activity: what happened, refusals marked, filtered by kind and by text.
    await show(cafe, 'activity')
    const entries = cafe.page.getByTestId('activity-entry')
    await expect(entries.filter({ hasText: 'POST /sessions → 403' })).toHaveCount(1)
    await expect(entries.filter({ hasText: 'POST /sessions → 403' })).toHaveClass('refused')
    await expect(entries.filter({ hasText: 'POST /sessions → 201' })).toHaveCount(2)
    await expect(entries.filter({ hasText: 'POST /uploads → 201' })).toHaveCount(1)
    await expect(entries.filter({ hasText: '/snapshots/' })).toHaveCount(1)
    await cafe.page.getByTestId('activity-kind').selectOption('pin')
    await expect(cafe.page.locator('[data-testid="activity-entry"]:not([data-kind="pin"])')).toHaveCount(0)
    await expect(entries.filter({ hasText: 'POST /uploads' })).toHaveCount(1)
    await cafe.page.getByTestId('activity-kind').selectOption('')
    await cafe.page.getByTestId('activity-text').fill('uploads')
    await expect(entries).toHaveCount(1)
    await expect(entries).toContainText('pin: POST /uploads → 201')
  })

  await test.step('the owner sets Alice\'s quota and removes Bob', async () => {
    // Clients: the owner gives Alice her own quota, then removes Bob; his row goes and the cafe forgets him.
    await show(cafe, 'clients')
    await row.getByText('Quota').click()
    await row.getByTestId('client-quota').fill('200')
    await row.getByRole('button', { name: 'Set' }).click()
    await expect(row.getByTestId('client-bytes')).toContainText('/ 200 MiB')
    expect(((await cafe.api('GET', '/api/v0/clients')).body as any[]).find(c => c.address === aliceAddr).quota).toBe(200 * MiB)
    await show(cafe, 'clients')
    cafe.page.once('dialog', dialog => { void dialog.accept() })
    await cafe.page.getByRole('button', { name: `Remove client ${bobAddr}` }).click()
    await expect(cafe.page.getByTestId('message')).toContainText('Removed')
    await expect(cafe.page.locator(`td[title="${bobAddr}"]`)).toHaveCount(0)
    expect(((await cafe.api('GET', '/api/v0/clients')).body as any[]).map(c => c.address)).toEqual([aliceAddr])
  })
})

test('a new device recovers through the dashboard alone: phrase shown behind a warning, restored, registered, recovered with progress', async ({ peers }) => {
  test.setTimeout(180_000)
  const cafe = await peers('cafe')
  const alice = await peers('alice')
  const { peerId: cafeId } = await makeCafe(cafe)
  const token = await newToken(cafe)
  expect((await alice.api('POST', '/api/v0/cafes', { cafe: cafeId, token })).status).toBe(201)
  const aliceAddr = await account(alice)

  const file = payload('photo.raw', 6 * MiB)
  const cid = await test.step('a backup whose bar only moves forward and ends full', async () => {
    // A backup whose bar only moves forward and ends full.
    await show(alice, 'backups')
    await watchMeter(alice, 'backup-progress')
    await alice.page.getByTestId('backup-file').setInputFiles(file)
    await expect(alice.page.getByTestId('backup')).toContainText('pinned', { timeout: 60_000 })
    await expect(alice.page.getByTestId('backup-progress')).toHaveAttribute('aria-valuenow', '100')
    const course = await meterValues(alice)
    console.log(`backup bar: ${course.join(' → ')}`)
    expect(course.at(-1)).toBe(100)
    expect(course, 'the bar never goes back').toEqual([...course].sort((a, b) => a - b))
    const [{ cid }] = (await alice.api('GET', '/api/v0/backups')).body
    expect((await alice.api('PUT', '/api/v0/threads/trip', { head: cid, meta: { title: 'trip' } })).status).toBe(200)
    return cid as string
  })

  const phrase = await test.step('the phrase: hidden until asked, and asking warns first', async () => {
    // The phrase: hidden until asked, and asking warns first (dismissing fetches nothing).
    await show(alice, 'profile')
    await expect(alice.page.getByTestId('mnemonic')).toHaveText('')
    await alice.page.evaluate(() => {
      const peer = (globalThis as any).lightcafe.peer
      const handle = peer.handle
      ;(globalThis as any).phraseReads = 0
      peer.handle = async (req: Request) => { if (new URL(req.url).pathname === '/api/v0/account/mnemonic') (globalThis as any).phraseReads++; return handle(req) }
    })
    const dismissed = new Promise<void>(resolve => {
      alice.page.once('dialog', dialog => { expect(dialog.message()).toContain('Anyone who sees these words'); void dialog.dismiss().then(resolve) })
    })
    await alice.page.getByTestId('reveal-mnemonic').click()
    await dismissed
    expect(await alice.page.evaluate(() => (globalThis as any).phraseReads)).toBe(0)
    await expect(alice.page.getByTestId('mnemonic')).toHaveText('')
    alice.page.once('dialog', dialog => { void dialog.accept() })
    await alice.page.getByTestId('reveal-mnemonic').click()
    await expect(alice.page.getByTestId('mnemonic')).toHaveText(/^(\w+ ){11,23}\w+$/)
    const phrase = (await alice.page.getByTestId('mnemonic').textContent())!
    expect(await alice.page.evaluate(() => (globalThis as any).phraseReads)).toBe(1)
    // It leaves the screen with the view.
    await show(alice, 'backups')
    await expect(alice.page.getByTestId('mnemonic')).toHaveText('')
    return phrase
  })

  const device = await peers('alice-tablet')

  await test.step('a new device: a wrong phrase is refused, the right one takes over the account', async () => {
    await show(device, 'profile')
    await device.page.getByTestId('restore-words').fill('not a real phrase at all')
    device.page.once('dialog', dialog => { void dialog.accept() })
    await device.page.getByTestId('restore').click()
    await expect(device.page.getByTestId('message')).toContainText('Not restored')
    await device.page.getByTestId('restore-words').fill(`  ${phrase.toUpperCase()} `)
    device.page.once('dialog', dialog => { void dialog.accept() })
    await device.page.getByTestId('restore').click()
    await expect(device.page.getByTestId('message')).toContainText('This device now holds the account')
    await expect(device.page.getByTestId('my-address')).toHaveText(aliceAddr)
  })

  await test.step('the new device registers and recovers with progress, byte for byte', async () => {
    // It registers and recovers, with progress: the file is back, byte for byte, and so is the thread.
    await show(device, 'cafes')
    await device.page.getByLabel('Cafe peer id or address').fill(cafeId)
    await device.page.getByLabel('Access token', { exact: true }).fill(token) // her token: she is its account
    await device.page.getByRole('button', { name: 'Register' }).click()
    await expect(device.page.getByTestId('message')).toHaveText('Registered.')
    await expect(device.page.getByTestId('cafe-health')).toContainText('connected')

    await show(device, 'backups')
    await watchMeter(device, 'recovery-progress')
    await device.page.getByTestId('recover').click()
    await expect(device.page.getByTestId('recovery-state')).toContainText('done: 1 of 1 backups, 1 files, 1 threads', { timeout: 60_000 })
    await expect(device.page.getByTestId('message')).toHaveText('Recovery finished.')
    const steps = await meterValues(device)
    console.log(`recovery bar: ${steps.join(' → ')}`)
    expect(steps.at(-1)).toBe(100)
    expect(steps).toEqual([...steps].sort((a, b) => a - b))
    // The file is back, byte for byte, and so is the thread.
    const back = await device.page.evaluate(async (cid) => {
      const data = new Uint8Array(await (await fetch(`/api/v0/files/${cid}`)).arrayBuffer())
      return [...new Uint8Array(await crypto.subtle.digest('SHA-256', data))].map(b => b.toString(16).padStart(2, '0')).join('')
    }, cid)
    expect(back).toBe(createHash('sha256').update(file.buffer).digest('hex'))
    expect((await device.api('GET', '/api/v0/threads')).body).toEqual([{ id: 'trip', head: cid, meta: { title: 'trip' } }])
  })

  await test.step('leaving a cafe asks first and says it is done', async () => {
    // Leaving a cafe asks first (it deletes what the cafe keeps) and says it is done.
    await show(device, 'cafes')
    device.page.once('dialog', dialog => { expect(dialog.message()).toContain('deletes what it keeps'); void dialog.accept() })
    await device.page.getByRole('button', { name: `Deregister from ${cafeId}` }).click()
    await expect(device.page.getByTestId('message')).toContainText('Left')
    await expect(device.page.getByTestId('cafe-list').locator('li')).toHaveCount(0)
  })
})
