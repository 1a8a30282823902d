import { expect, test } from './fixtures.ts'
import { spawnNodeCafe } from './node-cafe-process.ts'
import type { Peer } from './env.ts'
import type { NodeCafeProcess } from './node-cafe-process.ts'

const MARKER = 'LIGHTCAFE-NODE-CAFE-MARKER-93b1'

async function token (cafe: NodeCafeProcess): Promise<string> {
  const res = await cafe.owner('POST', '/tokens')
  expect(res.status).toBe(201)
  return res.body.token
}

async function join (peer: Peer, cafe: NodeCafeProcess): Promise<void> {
  const res = await peer.api('POST', '/api/v0/cafes', { cafe: cafe.ws, token: await token(cafe) })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
}

/** A file of `size` bytes holding the marker, added as this device's encrypted file; its CID and SHA-256. */
async function addFile (peer: Peer, size: number): Promise<{ cid: string, sha: string }> {
  return peer.page.evaluate(async ({ size, marker }) => {
    const data = new Uint8Array(size)
    const m = new TextEncoder().encode(marker)
    for (let i = 0; i < size; i += 64) { data.set(m.subarray(0, Math.min(m.length, size - i)), i); if (i + 40 < size) new DataView(data.buffer).setUint32(i + 36, i) }
    const body = await (await fetch('/api/v0/files', { method: 'POST', body: data })).json()
    const sha = [...new Uint8Array(await crypto.subtle.digest('SHA-256', data))].map(b => b.toString(16).padStart(2, '0')).join('')
    return { cid: body.cid, sha }
  }, { size, marker: MARKER })
}

async function fileSha (peer: Peer, cid: string): Promise<string> {
  return peer.page.evaluate(async (cid) => {
    const data = new Uint8Array(await (await fetch(`/api/v0/files/${cid}`)).arrayBuffer())
    return [...new Uint8Array(await crypto.subtle.digest('SHA-256', data))].map(b => b.toString(16).padStart(2, '0')).join('')
  }, cid)
}

test('a browser client uses a Node cafe over WebSockets: backup and recovery from the mnemonic, a message waiting in its inbox, a stranger\'s search finding a contact it indexes', async ({ env, peers, profiles }) => {
  test.setTimeout(240_000)
  const cafe = await spawnNodeCafe(env.relay.multiaddrs)
  try {
    // Registers straight over WebSockets to the Node cafe (no WebRTC, no relay in the path).
    const client = await peers('client')
    await join(client, cafe)
    const conns = (await client.api('GET', '/api/v0/connections')).body as Array<{ peerId: string, transport: string }>
    expect(conns.filter(c => c.peerId === cafe.peerId).map(c => c.transport)).toContain('websockets')

    const file = await addFile(client, 3 * 1024 * 1024)
    expect((await client.api('POST', '/api/v0/backups', { cid: file.cid })).status).toBe(202)
    await expect.poll(async () => (await client.api('GET', `/api/v0/backups/${file.cid}`)).body.cafes?.[0]?.status, { timeout: 60_000 }).toBe('pinned')
    const address = (await client.api('GET', '/api/v0/account')).body.address as string
    const held = ((await cafe.owner('GET', '/clients')).body as any[]).find(c => c.address === address)
    expect(held.pins).toBe(1)
    expect(held.bytes).toBeGreaterThan(3 * 1024 * 1024)

    // A new profile with the same mnemonic recovers the file byte for byte from the Node cafe.
    const mnemonic = (await client.api('GET', '/api/v0/account/mnemonic')).body.mnemonic
    const fresh = await peers('fresh')
    expect((await fresh.api('POST', '/api/v0/account', { mnemonic })).body.address).toBe(address)
    await join(fresh, cafe)
    const rec = await fresh.api('POST', `/api/v0/cafes/${cafe.peerId}/recover`)
    expect(rec.status, JSON.stringify(rec.body)).toBe(200)
    expect(rec.body).toMatchObject({ state: 'done', files: 1 })
    expect(await fileSha(fresh, file.cid)).toBe(file.sha)

    // Bob keeps his inbox at the Node cafe, publishes his contact there, and closes his profile.
    let bob = await profiles('bob')
    await join(bob, cafe)
    const bobAddr = (await bob.api('GET', '/api/v0/account')).body.address as string
    const profile = await bob.api('PUT', '/api/v0/profile', { name: 'Bob Nodeman' })
    expect(profile.status, JSON.stringify(profile.body)).toBe(200)
    expect(profile.body.inboxes).toEqual([cafe.peerId])
    await bob.close()

    // Alice, a client of the same cafe, finds his contact there and writes: it waits at the cafe.
    const alice = await peers('alice')
    await join(alice, cafe)
    expect((await alice.api('GET', `/api/v0/contacts/${bobAddr}`)).status).toBe(200)
    const sent = await alice.api('POST', '/api/v0/messages', { to: bobAddr, body: `${MARKER} hello` })
    expect(sent.status, JSON.stringify(sent.body)).toBe(202)
    await expect.poll(async () => ((await cafe.owner('GET', '/clients')).body as any[]).find(c => c.address === bobAddr)?.inbox, { timeout: 30_000 }).toBe(1)

    // Bob opens his profile: the message arrives, and the cafe lets go of it once acknowledged.
    bob = await profiles('bob')
    await expect.poll(async () => ((await bob.api('GET', '/api/v0/messages')).body as any[]).map(m => m.body), { timeout: 60_000 }).toContain(`${MARKER} hello`)
    await expect.poll(async () => ((await cafe.owner('GET', '/clients')).body as any[]).find(c => c.address === bobAddr)?.inbox, { timeout: 30_000 }).toBe(0)

    // A stranger (no cafe of its own) searches: the relay's directory lists the Node cafe, which
    // answers over WebRTC through the relay with the contact it indexes.
    const stranger = await peers('stranger')
    await expect.poll(async () => {
      const r = await stranger.api('GET', '/api/v0/search?name=nodeman&wait=5000')
      return (r.body.results as any[] | undefined)?.map(x => `${x.address as string}@${(x.cafes as string[]).join(',')}`)
    }, { timeout: 60_000 }).toEqual([`${bobAddr}@${cafe.peerId}`])
  } finally {
    await cafe.stop()
  }
})
