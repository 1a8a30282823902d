import { CarWriter } from '@ipld/car'
import * as dagPb from '@ipld/dag-pb'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { expect, test } from './fixtures.ts'
import { makeCafe, newToken, profileHolds, rawCafe, tamper } from './helpers.ts'
import type { Peer } from './env.ts'

const MARKER = 'LIGHTCAFE-BACKUP-MARKER-5e1d'
const MiB = 1024 * 1024

/** Adds `size` bytes (a marker repeated, with a counter so no two chunks repeat) as an encrypted file; returns its CID and SHA-256. */
async function addFile (peer: Peer, size: number): Promise<{ cid: string, sha: string }> {
  return peer.page.evaluate(async ({ size, marker }) => {
    const data = new Uint8Array(size)
    const m = new TextEncoder().encode(marker)
    for (let i = 0; i < size; i += 64) {
      data.set(m.subarray(0, Math.min(m.length, size - i)), i)
      if (i + 40 < size) new DataView(data.buffer).setUint32(i + 36, i)
    }
    const res = await fetch('/api/v0/files', { method: 'POST', body: data })
    const body = await res.json()
    const sha = [...new Uint8Array(await crypto.subtle.digest('SHA-256', data))].map(b => b.toString(16).padStart(2, '0')).join('')
    return { cid: body.cid, sha }
  }, { size, marker: MARKER })
}

/** Reads a file back through the local API and hashes it in the page. */
async function readFile (peer: Peer, cid: string): Promise<{ status: number, bytes: number, sha: string }> {
  return peer.page.evaluate(async (cid) => {
    const res = await fetch(`/api/v0/files/${cid}`)
    const data = new Uint8Array(await res.arrayBuffer())
    const sha = [...new Uint8Array(await crypto.subtle.digest('SHA-256', data))].map(b => b.toString(16).padStart(2, '0')).join('')
    return { status: res.status, bytes: data.length, sha }
  }, cid)
}

/** Blocks in the cafe's pinned-block store. */
async function cafeBlocks (cafe: Peer): Promise<number> {
  return cafe.page.evaluate(async () => {
    const db: IDBDatabase = await new Promise((resolve, reject) => { const r = indexedDB.open('lightcafe/cafe-blocks'); r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error) })
    const n: number = await new Promise((resolve, reject) => { const r = db.transaction(db.objectStoreNames[0]).objectStore(db.objectStoreNames[0]).count(); r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error) })
    db.close()
    return n
  })
}

async function clientView (cafe: Peer, address: string): Promise<any> {
  return ((await cafe.api('GET', '/api/v0/clients')).body as any[]).find(c => c.address === address)
}

async function backupStatus (peer: Peer, cid: string): Promise<any> {
  const res = await peer.api('GET', `/api/v0/backups/${cid}`)
  return res.status === 200 ? res.body.cafes[0] : { status: `http ${res.status}` }
}

async function access (peer: Peer, cafeId: string): Promise<string> {
  return peer.page.evaluate(async (id) => ((await (globalThis as any).lightcafe.peer.client.get(id)) as { access: string }).access, cafeId)
}

test('a 20 MiB encrypted backup and a thread snapshot survive a cafe reload mid-upload; the cafe holds no plaintext; a new profile recovers them byte for byte', async ({ peers }) => {
  test.setTimeout(240_000)
  const cafe = await peers('cafe')
  const client = await peers('client')
  const { peerId: cafeId } = await makeCafe(cafe)
  const token = await newToken(cafe)
  expect((await client.api('POST', '/api/v0/cafes', { cafe: cafeId, token })).status).toBe(201)
  const address = (await client.api('GET', '/api/v0/account')).body.address

  const file = await addFile(client, 20 * MiB)
  let view: { pins: number, bytes: number } = { pins: 0, bytes: 0 }

  await test.step('a 20 MiB encrypted backup is queued at the cafe', async () => {
    const started = await client.api('POST', '/api/v0/backups', { cid: file.cid })
    expect(started.status, JSON.stringify(started.body)).toBe(202)
    expect(started.body.cafes).toEqual([{ id: cafeId, status: 'queued', size: expect.any(Number) }])
    expect(started.body.cafes[0].size).toBeGreaterThan(20 * MiB) // block bytes: ciphertext + UnixFS nodes, for the progress bar
  })

  await test.step('the cafe reloads mid-upload; the backup resumes and is pinned', async () => {
    // Reload the cafe once the upload is under way (some bytes sent, not all).
    await expect.poll(async () => (await backupStatus(client, file.cid)).sent ?? 0, { timeout: 60_000, intervals: [50] }).toBeGreaterThan(MiB)
    await cafe.reload()
    expect((await backupStatus(client, file.cid)).status).not.toBe('pinned')
    await expect.poll(async () => (await backupStatus(client, file.cid)).status, { timeout: 120_000 }).toBe('pinned')
    view = await clientView(cafe, address)
    expect(view.pins).toBe(1)
    expect(view.bytes).toBeGreaterThan(20 * MiB) // ciphertext: plaintext + headers and tags
  })

  await test.step('a thread whose HEAD is the file is snapshotted at the cafe', async () => {
    // A thread whose HEAD is the file, with metadata carrying the marker.
    const put = await client.api('PUT', '/api/v0/threads/holiday-photos', { head: file.cid, meta: { title: `${MARKER} album`, members: 2 } })
    expect(put.status, JSON.stringify(put.body)).toBe(200)
    expect(put.body).toEqual({ id: 'holiday-photos', head: file.cid, cafes: 1 })
    await expect.poll(async () => (await clientView(cafe, address)).snapshots).toBe(1)
  })

  await test.step('the cafe holds ciphertext only', async () => {
    // The cafe's storage, every database and record: ciphertext only.
    const scan = await profileHolds(cafe, MARKER)
    expect(scan.records).toBeGreaterThan(20) // the 20 MiB (1 MiB UnixFS leaves) is there to search
    expect(scan.hits).toEqual([])
    // The marker really is in the client's plaintext (the search can find it).
    expect((await profileHolds(client, 'holiday-photos')).hits.length).toBeGreaterThan(0)
  })

  await test.step('a new profile recovers the file and the thread byte for byte; its gateway serves them', async () => {
    // A new device: restore the mnemonic, register, recover.
    const mnemonic = (await client.api('GET', '/api/v0/account/mnemonic')).body.mnemonic
    const fresh = await peers('new-device')
    expect((await fresh.api('POST', '/api/v0/account', { mnemonic })).body.address).toBe(address)
    expect((await fresh.api('POST', '/api/v0/cafes', { cafe: cafeId, token })).status).toBe(201)
    expect((await readFile(fresh, file.cid)).status).toBe(404)
    const t0 = Date.now()
    const rec = await fresh.api('POST', `/api/v0/cafes/${cafeId}/recover`)
    console.log(`recovery of 20 MiB: ${Date.now() - t0} ms`)
    expect(rec.status, JSON.stringify(rec.body)).toBe(200)
    expect(rec.body).toMatchObject({ state: 'done', threads: [{ id: 'holiday-photos', head: file.cid }], files: 1, dags: 1, dagsDone: 1 })
    expect(rec.body.bytes).toBeGreaterThan(20 * MiB)
    expect(rec.body.totalBytes).toBe(view.bytes) // what the cafe said it holds: the progress bar's whole
    expect((await fresh.api('GET', `/api/v0/cafes/${cafeId}/recover`)).body.state).toBe('done')
    const back = await readFile(fresh, file.cid)
    expect(back).toEqual({ status: 200, bytes: 20 * MiB, sha: file.sha })
    expect((await fresh.api('GET', '/api/v0/threads')).body).toEqual([{ id: 'holiday-photos', head: file.cid, meta: { title: `${MARKER} album`, members: 2 } }])

    // The local trustless gateway serves the recovered blocks.
    const rawRoot = await fresh.page.evaluate(async (cid) => {
      const r = await fetch(`/ipfs/${cid}?format=raw`)
      const car = await fetch(`/ipfs/${cid}`, { headers: { accept: 'application/vnd.ipld.car' } })
      const none = await fetch(`/ipfs/${cid}`)
      return { status: r.status, type: r.headers.get('content-type'), carType: car.headers.get('content-type'), carBytes: (await car.arrayBuffer()).byteLength, none: none.status }
    }, file.cid)
    expect(rawRoot).toMatchObject({ status: 200, type: 'application/vnd.ipld.raw', none: 406 })
    expect(rawRoot.carType).toContain('application/vnd.ipld.car')
    expect(rawRoot.carBytes).toBeGreaterThan(20 * MiB)
  })
})

/** A CAR (built here, in Node) whose second block's bytes do not match its CID. */
async function forgedCar (): Promise<number[]> {
  const good = new TextEncoder().encode('the real bytes')
  const goodCid = CID.createV1(raw.code, await sha256.digest(good))
  const rootBytes = dagPb.encode(dagPb.prepare({ Links: [{ Hash: goodCid, Name: 'x', Tsize: good.length }] }))
  const root = CID.createV1(dagPb.code, await sha256.digest(rootBytes))
  const { writer, out } = CarWriter.create([root])
  const chunks: Uint8Array[] = []
  const collected = (async () => { for await (const c of out) chunks.push(c) })()
  await writer.put({ cid: root, bytes: rootBytes })
  await writer.put({ cid: goodCid, bytes: new TextEncoder().encode('forged bytes!!') })
  await writer.close()
  await collected
  return [...Buffer.concat(chunks)]
}

test('unpin frees the blocks; over-quota and forged blocks are refused leaving nothing; another client or a forged JWT cannot see or delete pins', async ({ peers }) => {
  const cafe = await peers('cafe')
  const other = await peers('other-cafe')
  const alice = await peers('alice')
  const bob = await peers('bob')
  const { peerId: cafeId } = await makeCafe(cafe)
  const { peerId: otherId } = await makeCafe(other)
  for (const p of [alice, bob]) expect((await p.api('POST', '/api/v0/cafes', { cafe: cafeId, token: await newToken(cafe) })).status).toBe(201)
  expect((await bob.api('POST', '/api/v0/cafes', { cafe: otherId, token: await newToken(other) })).status).toBe(201)
  const aliceAddr = (await alice.api('GET', '/api/v0/account')).body.address
  const bobAddr = (await bob.api('GET', '/api/v0/account')).body.address

  const a = await addFile(alice, 3 * MiB)
  expect((await alice.api('POST', '/api/v0/backups', { cid: a.cid })).status).toBe(202)
  await expect.poll(async () => (await backupStatus(alice, a.cid)).status).toBe('pinned')
  expect((await clientView(cafe, aliceAddr)).pins).toBe(1)
  const blocksHeld = await cafeBlocks(cafe)
  expect(blocksHeld).toBeGreaterThanOrEqual(4)

  const bobJwt = await access(bob, cafeId)
  await test.step('another client, another cafe\'s session or a forged JWT can neither see nor delete the pins', async () => {
    // Bob, with his own valid session, sees none of Alice's pins and cannot delete them.
    const aliceJwt = await access(alice, cafeId)
    const alicePins = await rawCafe(alice, cafeId, 'GET', '/cafe/v1/pins', undefined, { authorization: `Bearer ${aliceJwt}` })
    expect(alicePins.body.count).toBe(1)
    const requestid = alicePins.body.results[0].requestid
    expect((await rawCafe(bob, cafeId, 'GET', '/cafe/v1/pins', undefined, { authorization: `Bearer ${bobJwt}` })).body.count).toBe(0)
    expect((await rawCafe(bob, cafeId, 'GET', `/cafe/v1/pins/${requestid}`, undefined, { authorization: `Bearer ${bobJwt}` })).status).toBe(404)
    expect((await rawCafe(bob, cafeId, 'DELETE', `/cafe/v1/pins/${requestid}`, undefined, { authorization: `Bearer ${bobJwt}` })).status).toBe(404)
    expect((await rawCafe(bob, cafeId, 'GET', `/cafe/v1/ipfs/${a.cid}?format=raw`, undefined, { authorization: `Bearer ${bobJwt}` })).status).toBe(404)
    // Another cafe's session, and Alice's token with its expiry pushed out, are refused.
    const foreign = await access(bob, otherId)
    const refused = await rawCafe(bob, cafeId, 'GET', '/cafe/v1/pins', undefined, { authorization: `Bearer ${foreign}` })
    expect(refused.status).toBe(401)
    const forgedExp = tamper(aliceJwt, { exp: Math.floor(Date.now() / 1000) + 86400 })
    expect((await rawCafe(alice, cafeId, 'DELETE', `/cafe/v1/pins/${requestid}`, undefined, { authorization: `Bearer ${forgedExp}` })).status).toBe(401)
    expect((await rawCafe(alice, cafeId, 'GET', `/cafe/v1/pins/${requestid}`, undefined, { authorization: `Bearer ${aliceJwt}` })).body.status).toBe('pinned')
  })

  await test.step('unpinning frees the blocks', async () => {
    // Unpin: the backup goes, and so do the blocks (no one else pins them).
    expect((await alice.api('DELETE', `/api/v0/backups/${a.cid}`)).status).toBe(202)
    await expect.poll(async () => (await alice.api('GET', `/api/v0/backups/${a.cid}`)).status).toBe(404)
    expect(await clientView(cafe, aliceAddr)).toMatchObject({ pins: 0, bytes: 0 })
    expect(await cafeBlocks(cafe)).toBe(0)
  })

  await test.step('a backup over quota fails with the reason, nothing kept', async () => {
    // Over quota: the owner gives Bob 1 MiB; a 3 MiB backup fails with the reason, nothing kept.
    const q = await cafe.api('PUT', `/api/v0/clients/${bobAddr}`, { quota: MiB })
    expect(q.status, JSON.stringify(q.body)).toBe(200)
    expect(q.body.quota).toBe(MiB)
    const b = await addFile(bob, 3 * MiB)
    expect((await bob.api('POST', '/api/v0/backups', { cid: b.cid })).status).toBe(202)
    await expect.poll(async () => (await bob.api('GET', `/api/v0/backups/${b.cid}`)).body.cafes.find((c: any) => c.id === cafeId)?.status).toBe('failed')
    const failed = (await bob.api('GET', `/api/v0/backups/${b.cid}`)).body.cafes.find((c: any) => c.id === cafeId)
    expect(failed.error.reason).toBe('QUOTA_EXCEEDED')
    expect(await clientView(cafe, bobAddr)).toMatchObject({ pins: 0, bytes: 0 })
    expect(await cafeBlocks(cafe)).toBe(0)
  })

  await test.step('a forged block is refused, nothing of the upload kept', async () => {
    // A block whose bytes do not match its CID is refused, and nothing of the upload is kept.
    const car = await forgedCar()
    const forged = await bob.page.evaluate(async ({ cafeId, car, jwt }) => {
      const res: Response = await (globalThis as any).lightcafe.peer.rawCafeFetch(cafeId, new Request('http://cafe/cafe/v1/uploads', {
        method: 'POST', headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/vnd.ipld.car' }, body: new Uint8Array(car)
      }))
      return { status: res.status, body: await res.json() }
    }, { cafeId, car, jwt: bobJwt })
    expect(forged.status).toBe(400)
    expect(forged.body.error.reason).toBe('BLOCK_MISMATCH')
    expect(await cafeBlocks(cafe)).toBe(0)
    expect((await clientView(cafe, bobAddr)).pins).toBe(0)
  })
})
