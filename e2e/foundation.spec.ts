import { expect, test } from './fixtures.ts'
import { claims, makeCafe, newToken, rawCafe, tamper, unsigned } from './helpers.ts'

test('a client registers with a cafe over a direct WebRTC connection, refreshes, and deregisters', async ({ peers }) => {
  const cafe = await peers('cafe')
  const client = await peers('client')
  const { peerId: cafeId } = await makeCafe(cafe)
  const token = await newToken(cafe)

  const reg = await client.api('POST', '/api/v0/cafes', { cafe: cafeId, token })
  expect(reg.status, JSON.stringify(reg.body)).toBe(201)
  expect(reg.body.id).toBe(cafeId)
  const account = (await client.api('GET', '/api/v0/account')).body.address
  expect(reg.body.address).toBe(account)
  expect(claims(reg.body.access)).toMatchObject({ iss: cafeId, sub: account, scope: 'access' })

  // The connection that carried it is direct WebRTC, not the relayed one.
  const conns = (await client.api('GET', '/api/v0/connections')).body as any[]
  const toCafe = conns.filter(c => c.peerId === cafeId)
  expect(toCafe.some(c => c.transport === 'webrtc' && c.direct)).toBe(true)
  // On one network (host candidates): named a direct path, from the selected candidate pair.
  expect(toCafe.find(c => c.transport === 'webrtc'), JSON.stringify(toCafe)).toMatchObject({ path: 'direct' })

  const listed = (await cafe.api('GET', '/api/v0/clients')).body as any[]
  expect(listed.map(c => c.address)).toEqual([account])

  // Refresh rotates both tokens.
  const refreshed = await client.api('POST', `/api/v0/cafes/${cafeId}/refresh`)
  expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200)
  const after = (await client.page.evaluate(async (id) => (globalThis as any).lightcafe.peer.client.get(id), cafeId)) as any
  expect(after.access).not.toBe(reg.body.access)
  expect(after.refresh).not.toBe(reg.body.refresh)
  const me = await rawCafe(client, cafeId, 'GET', '/cafe/v1/sessions/me', undefined, { authorization: `Bearer ${after.access}` })
  expect(me.status).toBe(200)
  expect(me.body.address).toBe(account)

  // Deregistering ends the session on both sides.
  const bye = await client.api('DELETE', `/api/v0/cafes/${cafeId}`)
  expect(bye.status, JSON.stringify(bye.body)).toBe(204)
  expect((await client.api('GET', '/api/v0/cafes')).body).toEqual([])
  expect((await cafe.api('GET', '/api/v0/clients')).body).toEqual([])
  // The token of a deregistered client is refused.
  const gone = await rawCafe(client, cafeId, 'GET', '/cafe/v1/sessions/me', undefined, { authorization: `Bearer ${after.access}` })
  expect(gone.status).toBe(401)
  expect(gone.body.error.reason).toBe('SESSION_ENDED')
})

test('attacks on registration and sessions are refused over the real path', async ({ peers }) => {
  const cafe = await peers('cafe')
  const other = await peers('other-cafe')
  const client = await peers('client')
  const thief = await peers('thief')
  const { peerId: cafeId } = await makeCafe(cafe)
  const { peerId: otherId } = await makeCafe(other)
  const address = (await client.api('GET', '/api/v0/account')).body.address

  // Unknown, malformed and revoked tokens.
  const unknown = await client.api('POST', '/api/v0/cafes', { cafe: cafeId, token: 'nope.nope' })
  expect(unknown.status, JSON.stringify(unknown.body)).toBe(401)
  const revoked = await newToken(cafe)
  const revokedId = ((await cafe.api('GET', '/api/v0/tokens')).body as any[])[0].id
  expect((await cafe.api('DELETE', `/api/v0/tokens/${revokedId}`)).status).toBe(204)
  const refused = await client.api('POST', '/api/v0/cafes', { cafe: cafeId, token: revoked })
  expect(refused.status).toBe(401)
  expect(refused.body.error.reason).toBe('TOKEN_REVOKED')

  // Bad signature and replayed nonce, straight at the cafe API.
  const token = await newToken(cafe)
  const ch = await rawCafe(client, cafeId, 'POST', '/cafe/v1/sessions/challenge', { address })
  expect(ch.status).toBe(200)
  const badSig = await rawCafe(client, cafeId, 'POST', '/cafe/v1/sessions', { address, token, nonce: ch.body.nonce, sig: 'A'.repeat(86) })
  expect(badSig.status).toBe(401)
  expect(badSig.body.error.reason).toBe('BAD_SIGNATURE')
  const replay = await rawCafe(client, cafeId, 'POST', '/cafe/v1/sessions', { address, token, nonce: ch.body.nonce, sig: 'A'.repeat(86) })
  expect(replay.status).toBe(401)
  expect(replay.body.error.reason).toBe('NONCE_INVALID')
  // Malformed JSON, wrong types, oversized body: 4xx, nothing stored.
  expect((await rawCafe(client, cafeId, 'POST', '/cafe/v1/sessions', '{"address":')).status).toBe(400)
  const wrongType = await rawCafe(client, cafeId, 'POST', '/cafe/v1/sessions', { address, token: 7, nonce: 'x', sig: 'y' })
  expect(wrongType.status).toBe(400)
  expect((await rawCafe(client, cafeId, 'POST', '/cafe/v1/sessions/challenge', { address: 'x'.repeat(200_000) })).status).toBe(413)
  expect((await cafe.api('GET', '/api/v0/clients')).body).toEqual([])

  // A good registration, then forged and misused JWTs.
  const reg = await client.api('POST', '/api/v0/cafes', { cafe: cafeId, token })
  expect(reg.status).toBe(201)
  const { access, refresh } = reg.body
  const me = async (from: typeof client, jwt: string, to = cafeId): Promise<{ status: number, body: any }> =>
    rawCafe(from, to, 'GET', '/cafe/v1/sessions/me', undefined, { authorization: `Bearer ${jwt}` })
  expect((await me(client, access)).status).toBe(200)
  expect((await me(client, tamper(access, { sub: 'z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK' }))).status).toBe(401)
  expect((await me(client, unsigned(claims(access)))).status).toBe(401)
  expect((await me(client, tamper(access, { exp: 1 }))).status).toBe(401)
  expect((await me(client, refresh)).status).toBe(401) // refresh token used as access
  expect((await me(client, access, otherId)).status).toBe(401) // another cafe: wrong audience and issuer
  // The same session from another peer id is refused (Noise authenticates the caller).
  const stolen = await me(thief, access)
  expect(stolen.status).toBe(403)
  expect(stolen.body.error.reason).toBe('PEER_MISMATCH')
  // The token is bound to this account now.
  const thiefTake = await thief.api('POST', '/api/v0/cafes', { cafe: cafeId, token })
  expect(thiefTake.status).toBe(403)
  expect(thiefTake.body.error.reason).toBe('TOKEN_USED')

  // A lost answer: the refresh token rotated last, used again within a minute, gets the same new pair.
  const session = async (): Promise<any> => client.page.evaluate(async (id) => (globalThis as any).lightcafe.peer.client.get(id), cafeId)
  expect((await client.api('POST', `/api/v0/cafes/${cafeId}/refresh`)).status).toBe(200)
  const retried = await rawCafe(client, cafeId, 'POST', '/cafe/v1/sessions/refresh', {}, { authorization: `Bearer ${refresh}` })
  expect([retried.status, retried.body.refresh]).toEqual([200, (await session()).refresh])
  // Reusing a refresh token rotated before that is treated as theft: the whole session ends.
  expect((await client.api('POST', `/api/v0/cafes/${cafeId}/refresh`)).status).toBe(200)
  const reused = await rawCafe(client, cafeId, 'POST', '/cafe/v1/sessions/refresh', {}, { authorization: `Bearer ${refresh}` })
  expect(reused.status).toBe(401)
  expect(reused.body.error.reason).toBe('REFRESH_REUSED')
  const ended = await me(client, (await session()).access)
  expect(ended.status).toBe(401)
  expect(ended.body.error.reason).toBe('SESSION_ENDED')
})

test('cafe and client keep identity, tokens, clients and sessions across reloads', async ({ peers }) => {
  const cafe = await peers('cafe')
  const client = await peers('client')
  const { peerId: cafeId, webrtc } = await makeCafe(cafe)
  const token = await newToken(cafe)
  // Register by multiaddr this time.
  const reg = await client.api('POST', '/api/v0/cafes', { cafe: webrtc, token })
  expect(reg.status, JSON.stringify(reg.body)).toBe(201)
  const tokensBefore = (await cafe.api('GET', '/api/v0/tokens')).body
  const clientsBefore = (await cafe.api('GET', '/api/v0/clients')).body
  const clientAccount = (await client.api('GET', '/api/v0/account')).body.address

  await cafe.reload()
  expect((await cafe.api('GET', '/api/v0/peer')).body.peerId).toBe(cafeId)
  expect((await cafe.api('GET', '/api/v0/cafe')).body.enabled).toBe(true)
  expect((await cafe.api('GET', '/api/v0/tokens')).body).toEqual(tokensBefore)
  expect(((await cafe.api('GET', '/api/v0/clients')).body as any[]).map(c => c.address)).toEqual((clientsBefore as any[]).map(c => c.address))

  await client.reload()
  expect((await client.api('GET', '/api/v0/account')).body.address).toBe(clientAccount)
  const sessions = (await client.api('GET', '/api/v0/cafes')).body as any[]
  expect(sessions.map(s => s.id)).toEqual([cafeId])
  // The kept session still works against the reloaded cafe (a new WebRTC connection).
  const refreshed = await client.api('POST', `/api/v0/cafes/${cafeId}/refresh`)
  expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200)
})

test('a second tab of the same profile waits and says why, then takes over the same node once the first closes', async ({ peers }) => {
  const peer = await peers('tabs')
  const peerId = (await peer.api('GET', '/api/v0/peer')).body.peerId as string
  const second = await peer.context.newPage()
  await second.goto(peer.page.url())
  await expect(second.getByTestId('node-elsewhere')).toContainText('already running in another tab')
  expect(await second.evaluate(() => (globalThis as any).lightcafe?.ready ?? 'no node')).toBe('no node')
  // The first tab closes: the second starts by itself, with the profile's node.
  await peer.page.close()
  peer.page = second
  await peer.ready()
  await expect(second.getByTestId('node-elsewhere')).toHaveCount(0)
  expect((await peer.api('GET', '/api/v0/peer')).body.peerId).toBe(peerId)
})

test('the app shell loads with the network offline', async ({ peers }) => {
  const peer = await peers('offline')
  await peer.context.setOffline(true)
  await peer.page.reload()
  // The static header paints without scripts; the nav exists only once the cached bundle ran.
  await expect(peer.page.locator('h1')).toContainText('Lightcafe')
  await expect(peer.page.getByTestId('nav-overview')).toBeVisible()
  await peer.context.setOffline(false)
})

test('with no node page, the API answers 503 NODE_NOT_READY', async ({ env, browser }) => {
  const context = await browser.newContext()
  const page = await context.newPage()
  // A page of the origin that is not the app: nothing runs a node there.
  await page.goto(`${env.web.url}/relays.json`)
  const res = await page.evaluate(async () => { const r = await fetch('/api/v0/peer'); return { status: r.status, body: await r.json() } })
  expect(res.status).toBe(503)
  expect(res.body.error.reason).toBe('NODE_NOT_READY')
  await context.close()
})

test('after the relay restarts, both peers reconnect and can register again', async ({ env, peers }) => {
  const cafe = await peers('cafe')
  const client = await peers('client')
  const { peerId: cafeId } = await makeCafe(cafe)
  const reg = await client.api('POST', '/api/v0/cafes', { cafe: cafeId, token: await newToken(cafe) })
  expect(reg.status).toBe(201)
  expect((await client.api('DELETE', `/api/v0/cafes/${cafeId}`)).status).toBe(204)

  await env.restartRelay(1_000)

  for (const p of [cafe, client]) {
    await expect.poll(async () => {
      const info = await p.api('GET', '/api/v0/peer')
      return info.body.relays.every((r: any) => r.connected && r.reserved)
    }, { timeout: 45_000 }).toBe(true)
  }
  const again = await client.api('POST', '/api/v0/cafes', { cafe: cafeId, token: await newToken(cafe) })
  expect(again.status, JSON.stringify(again.body)).toBe(201)
  // A peer that arrives after the restart reaches the cafe only through the new reservation.
  const late = await peers('late')
  const lateReg = await late.api('POST', '/api/v0/cafes', { cafe: cafeId, token: await newToken(cafe) })
  expect(lateReg.status, JSON.stringify(lateReg.body)).toBe(201)
})

test('an account is restored on another profile from its mnemonic', async ({ peers }) => {
  const first = await peers('first-device')
  const second = await peers('second-device')
  const { mnemonic } = (await first.api('GET', '/api/v0/account/mnemonic')).body
  const address = (await first.api('GET', '/api/v0/account')).body.address
  expect((await second.api('GET', '/api/v0/account')).body.address).not.toBe(address)

  const bad = await second.api('POST', '/api/v0/account', { mnemonic: 'not a real phrase at all' })
  expect(bad.status).toBe(400)
  expect(bad.body.error.reason).toBe('INVALID_MNEMONIC')
  const restored = await second.api('POST', '/api/v0/account', { mnemonic })
  expect(restored.status).toBe(200)
  expect(restored.body.address).toBe(address)
  await second.reload()
  expect((await second.api('GET', '/api/v0/account')).body.address).toBe(address)
})
