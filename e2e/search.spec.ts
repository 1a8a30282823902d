import { expect, test } from './fixtures.ts'
import { makeCafe, newToken, rawCafe, show, webrtcAddr } from './helpers.ts'
import type { Peer } from './env.ts'

async function join (peer: Peer, cafe: Peer, cafeId: string, name: string): Promise<{ address: string, contact: any }> {
  const reg = await peer.api('POST', '/api/v0/cafes', { cafe: cafeId, token: await newToken(cafe) })
  expect(reg.status, JSON.stringify(reg.body)).toBe(201)
  const p = await peer.api('PUT', '/api/v0/profile', { name })
  expect(p.status, JSON.stringify(p.body)).toBe(200)
  expect(p.body.published).toEqual([cafeId])
  return { address: p.body.address, contact: p.body }
}

// Correctness queries allow the longest wait: a first WebRTC dial occasionally needs a retry
// (measured up to ~6.5 s); the wait itself is checked at the end.
async function search (peer: Peer, name: string, wait = 10_000): Promise<{ names: string[], body: any }> {
  const res = await peer.api('GET', `/api/v0/search?name=${encodeURIComponent(name)}&wait=${wait}`)
  expect(res.status, JSON.stringify(res.body)).toBe(200)
  return { names: (res.body.results as any[]).map(r => r.name), body: res.body }
}

test('a peer registered nowhere finds people across three cafes by prefix and misspelling, sees renames, and forged contacts are refused or ignored; a query returns within its wait when a cafe is gone', async ({ peers }) => {
  test.setTimeout(240_000)
  const cafes = [await peers('cafe-1'), await peers('cafe-2'), await peers('cafe-3')]
  const ids = [] as string[]
  for (const c of cafes) ids.push((await makeCafe(c)).peerId)
  const people = [['alice', 'Alice Smith', 0], ['bob', 'Bob Jones', 0], ['carol', 'Carol White', 1], ['dave', 'Dave Brown', 2], ['erin', 'Erin Walker', 2]] as const
  const users: Record<string, { peer: Peer, address: string, contact: any }> = {}
  for (const [key, name, at] of people) {
    const peer = await peers(key)
    users[key] = { peer, ...(await join(peer, cafes[at], ids[at], name)) }
  }
  // Carol's device is closed: her cafe answers for her.
  await users.carol.peer.close()
  const seeker = await peers('seeker')
  expect((await seeker.api('GET', '/api/v0/cafes')).body).toEqual([])

  const byPrefix = await search(seeker, 'car')
  expect(byPrefix.names, JSON.stringify({ ...byPrefix.body, ids })).toEqual(['Carol White'])
  const carol = byPrefix.body.results[0]
  expect(carol).toMatchObject({ address: users.carol.address, inboxes: [ids[1]], cafes: [ids[1]] })
  expect(byPrefix.body.asked).toBeGreaterThanOrEqual(3) // the relay's directory may still list cafes of earlier tests
  expect((await search(seeker, 'Brwon')).names).toEqual(['Dave Brown'])
  expect((await search(seeker, 'smith')).names).toEqual(['Alice Smith'])
  expect((await search(seeker, 'nobody-by-that-name')).names).toEqual([])

  // Results stream into the page as cafes answer.
  await show(seeker, 'search')
  await seeker.page.getByTestId('search-name').fill('walk')
  await seeker.page.getByTestId('search-name').press('Enter')
  await expect(seeker.page.getByTestId('search-result')).toHaveCount(1)
  await expect(seeker.page.getByTestId('search-result')).toContainText('Erin Walker')
  await expect(seeker.page.getByTestId('search-result')).toHaveAttribute('title', users.erin.address)
  await expect(seeker.page.getByTestId('search-state')).toContainText('1 found')
  // A result is one click from a message to that person.
  await seeker.page.getByRole('button', { name: 'Write to Erin Walker' }).click()
  await expect(seeker.page.getByTestId('view-messages')).toBeVisible()
  await expect(seeker.page.getByTestId('msg-to')).toHaveValue(users.erin.address)

  // Alice renames herself: found under the new name, not the old.
  expect((await users.alice.peer.api('PUT', '/api/v0/profile', { name: 'Alicia Keys' })).status).toBe(200)
  expect((await search(seeker, 'alicia')).names).toEqual(['Alicia Keys'])
  expect((await search(seeker, 'smith')).names).toEqual([])

  // A forged contact is refused at publish: Bob's signed contact with another name.
  const bobJwt = await users.bob.peer.page.evaluate(async (id) => (await (globalThis as any).lightcafe.peer.client.get(id)).access, ids[0])
  const forged = await rawCafe(users.bob.peer, ids[0], 'PUT', '/cafe/v1/contacts', { ...users.bob.contact, published: undefined, name: 'Bobby Tables' }, { authorization: `Bearer ${bobJwt}` })
  expect(forged.status).toBe(400)
  expect(forged.body.error.reason).toBe('BAD_SIGNATURE')

  // A cafe whose storage holds a forged contact answers with it: the asker ignores that cafe.
  await cafes[2].page.evaluate(async (address) => {
    // The contact store's datastore-idb database: JSON bytes at /contacts/<address>.
    const db: IDBDatabase = await new Promise((resolve, reject) => { const r = indexedDB.open('lightcafe/cafe-records/contacts'); r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error) })
    const store = db.objectStoreNames[0]
    const key = `/contacts/${encodeURIComponent(address)}`
    const bytes: Uint8Array = await new Promise((resolve, reject) => { const r = db.transaction(store).objectStore(store).get(key); r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error) })
    const held = JSON.parse(new TextDecoder().decode(bytes))
    const forged = new TextEncoder().encode(JSON.stringify({ ...held, name: 'Mallory Brown' }))
    await new Promise((resolve, reject) => { const tx = db.transaction(store, 'readwrite'); tx.objectStore(store).put(forged, key); tx.oncomplete = resolve; tx.onerror = () => reject(tx.error) })
    db.close()
  }, users.dave.address)
  await cafes[2].reload()
  await webrtcAddr(cafes[2]) // reachable again: its relay reservation is back
  // The seeker's old WebRTC connection to it died with its page: the next query reaches the new one.
  const poisoned = await search(seeker, 'brown')
  expect(poisoned.names).toEqual([])
  expect(poisoned.body.ignored, JSON.stringify({ ...poisoned.body, ids })).toEqual([ids[2]])
  expect((await search(seeker, 'jones')).names).toEqual(['Bob Jones'])

  // A cafe stops answering while still listed (its tab is stuck: connections up, its code busy
  // for 8 s): the query still returns within its wait, with the others' answers.
  const stuck = cafes[1].page.evaluate(() => { const end = Date.now() + 8_000; while (Date.now() < end) { /* a stuck tab */ } })
  await new Promise(resolve => setTimeout(resolve, 200))
  const t0 = Date.now()
  const late = await search(seeker, 'bob', 3000)
  const took = Date.now() - t0
  expect(late.names).toEqual(['Bob Jones'])
  expect(late.body.answered).not.toContain(ids[1])
  expect(late.body.timedOut).toContain(ids[1])
  await stuck
  expect(took).toBeLessThan(3000 + 3000) // the wait plus the page → SW → node round trip, with margin
})
