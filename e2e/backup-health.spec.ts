import { expect, test } from './fixtures.ts'
import { makeCafe, newToken, show } from './helpers.ts'
import { spawnNodeCafe } from './node-cafe-process.ts'
import type { Peer } from './env.ts'
import type { NodeCafeProcess } from './node-cafe-process.ts'

const MiB = 1024 * 1024

/** A file of `size` bytes (no two 64-byte rows alike), added as this device's encrypted file; its CID and SHA-256. */
async function addFile (peer: Peer, size: number, seed: number): Promise<{ cid: string, sha: string }> {
  return peer.page.evaluate(async ({ size, seed }) => {
    const data = new Uint8Array(size)
    const view = new DataView(data.buffer)
    for (let i = 0; i + 8 <= size; i += 64) { view.setUint32(i, seed); view.setUint32(i + 4, i) }
    const body = await (await fetch('/api/v0/files', { method: 'POST', body: data })).json()
    const sha = [...new Uint8Array(await crypto.subtle.digest('SHA-256', data))].map(b => b.toString(16).padStart(2, '0')).join('')
    return { cid: body.cid as string, sha }
  }, { size, seed })
}

/** A backup's state at one cafe, as the client's local API shows it. */
async function at (peer: Peer, cid: string, cafe: string): Promise<{ status: string, size?: number, uploaded?: number, error?: { reason: string } } | undefined> {
  const res = await peer.api('GET', `/api/v0/backups/${cid}`)
  return res.status === 200 ? (res.body.cafes as any[]).find(c => c.id === cafe) : undefined
}

async function joinNode (peer: Peer, cafe: NodeCafeProcess): Promise<void> {
  const token = (await cafe.owner('POST', '/tokens')).body.token
  const res = await peer.api('POST', '/api/v0/cafes', { cafe: cafe.ws, token })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
}

async function joinTab (peer: Peer, cafe: Peer, cafeId: string): Promise<void> {
  const res = await peer.api('POST', '/api/v0/cafes', { cafe: cafeId, token: await newToken(cafe) })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
}

/** Every backup's state at one cafe. */
async function allAt (peer: Peer, cafe: string): Promise<Array<{ cid: string, status: string, size?: number, uploaded?: number }>> {
  const list = (await peer.api('GET', '/api/v0/backups')).body as Array<{ cid: string, cafes: any[] }>
  return list.flatMap(b => b.cafes.filter(c => c.id === cafe).map(c => ({ cid: b.cid, ...c })))
}

/** Registers with a cafe and waits until it holds every backup: the backfill's time and MB/s. */
async function backfill (client: Peer, cafe: string, join: () => Promise<void>, backups: number): Promise<{ ms: number, bytes: number }> {
  const t0 = Date.now()
  await join()
  await expect.poll(async () => (await allAt(client, cafe)).filter(b => b.status === 'pinned').length, { timeout: 180_000, intervals: [200] }).toBe(backups)
  const ms = Date.now() - t0
  const bytes = (await allAt(client, cafe)).reduce((n, b) => n + (b.size ?? 0), 0)
  return { ms, bytes }
}

async function fileSha (peer: Peer, cid: string): Promise<string> {
  return peer.page.evaluate(async (cid) => {
    const data = new Uint8Array(await (await fetch(`/api/v0/files/${cid}`)).arrayBuffer())
    return [...new Uint8Array(await crypto.subtle.digest('SHA-256', data))].map(b => b.toString(16).padStart(2, '0')).join('')
  }, cid)
}

test('backups on every cafe: a cut upload resumes, a cafe added later is backfilled, a cafe that lost blocks is caught and repaired, and a new device recovers from it alone', async ({ env, peers }) => {
  test.setTimeout(600_000)
  const node = await spawnNodeCafe(env.relay.multiaddrs)
  try {
    const client = await peers('client')
    await joinNode(client, node)
    const files: Array<{ cid: string, sha: string }> = []

    await test.step('backups made with one cafe; the health view warns that all rests on it', async () => {
      files.push(await addFile(client, 1 * MiB, 1), await addFile(client, 3 * MiB, 3))
      for (const f of files) expect((await client.api('POST', '/api/v0/backups', { cid: f.cid })).status).toBe(202)
      expect((await client.api('PUT', '/api/v0/threads/album', { head: files[0].cid, meta: { title: 'holiday' } })).status).toBe(200)
      await expect.poll(async () => (await allAt(client, node.peerId)).map(b => b.status), { timeout: 60_000 }).toEqual(['pinned', 'pinned'])
      await show(client, 'backups')
      await expect(client.page.getByTestId('health-summary')).toContainText('on 1 cafe')
      await expect(client.page.locator('[data-testid=health-warning][data-reason=SINGLE_CAFE]')).toContainText('Join a second cafe')
    })

    await test.step('a 64 MiB backup to the Node cafe, cut at 90 % by SIGKILL, resumes after its restart and re-sends at most 15 %', async () => {
      const big = await addFile(client, 64 * MiB, 64)
      files.push(big)
      // Told of every chunk as it goes, in the page: the kill lands as the upload passes 90 %.
      await client.page.evaluate((cafe) => {
        const seen = { sent: 0 }
        ;(globalThis as any).uploadSeen = seen
        ;(globalThis as any).lightcafe.peer.backups.watch({ onProgress: (e: any) => { if (e.type === 'backup:progress' && e.detail.cafe.id === cafe && e.detail.cafe.sent != null) seen.sent = e.detail.cafe.sent } })
      }, node.peerId)
      expect((await client.api('POST', '/api/v0/backups', { cid: big.cid })).status).toBe(202)
      const size = (await at(client, big.cid, node.peerId))!.size!
      expect(size).toBeGreaterThan(64 * MiB)
      await client.page.waitForFunction(size => (globalThis as any).uploadSeen.sent >= 0.9 * size, size, { polling: 5, timeout: 120_000 })
      await node.kill()
      const cut = await at(client, big.cid, node.peerId)
      expect(cut?.status).not.toBe('pinned')
      await node.start()
      await expect.poll(async () => (await at(client, big.cid, node.peerId))?.status, { timeout: 120_000 }).toBe('pinned')
      const done = (await at(client, big.cid, node.peerId))!
      const resent = done.uploaded! - size
      console.log(`[backup-health] 64 MiB cut at 90 %: ${done.uploaded} bytes uploaded in all for ${size} bytes of blocks; re-sent ${resent} bytes (${(100 * resent / size).toFixed(1)} %)`)
      expect(resent).toBeLessThanOrEqual(0.15 * size)
      const held = ((await node.owner('GET', '/clients')).body as any[])[0]
      expect(held).toMatchObject({ pins: 3, lost: 0 })
    })

    const b = await peers('cafe-b')
    const c = await peers('cafe-c')
    const { peerId: bId } = await makeCafe(b)
    const { peerId: cId } = await makeCafe(c)

    await test.step('a tab cafe registered later receives every backup and the thread\'s snapshot (backfill)', async () => {
      const { ms, bytes } = await backfill(client, bId, async () => { await joinTab(client, b, bId) }, 3)
      console.log(`[backup-health] backfill to a tab cafe: ${bytes} bytes in ${ms} ms = ${(bytes / 1e6 / (ms / 1000)).toFixed(1)} MB/s (registration to every backup pinned)`)
      const address = (await client.api('GET', '/api/v0/account')).body.address
      await expect.poll(async () => ((await b.api('GET', '/api/v0/clients')).body as any[]).find(x => x.address === address)).toMatchObject({ pins: 3, snapshots: 1, lost: 0 })
      await expect(client.page.getByTestId('health-summary')).toContainText('on 2 cafes')
      await expect(client.page.locator('[data-testid=health-warning][data-reason=SINGLE_CAFE]')).toHaveCount(0)
    })

    await test.step('a third cafe loses blocks behind the client\'s back: it says so at start, a check finds exactly those, and only they are uploaded again', async () => {
      const { ms, bytes } = await backfill(client, cId, async () => { await joinTab(client, c, cId) }, 3)
      console.log(`[backup-health] backfill to a second tab cafe: ${bytes} bytes in ${ms} ms = ${(bytes / 1e6 / (ms / 1000)).toFixed(1)} MB/s`)
      const before = await allAt(client, cId)
      // Every 4th block of the cafe's store deleted, as an eviction or a wipe would, in its own page.
      const wiped = await c.page.evaluate(async () => {
        const db: IDBDatabase = await new Promise((resolve, reject) => { const r = indexedDB.open('lightcafe/cafe-blocks'); r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error) })
        const store = db.objectStoreNames[0]
        const out = { blocks: 0, bytes: 0 }
        await new Promise<void>((resolve, reject) => {
          const tx = db.transaction(store, 'readwrite')
          let i = 0
          tx.objectStore(store).openCursor().onsuccess = e => {
            const cursor = (e.target as IDBRequest<IDBCursorWithValue | null>).result
            if (cursor == null) return
            if (i++ % 4 === 1) { out.blocks++; out.bytes += (cursor.value as Uint8Array).byteLength; cursor.delete() }
            cursor.continue()
          }
          tx.oncomplete = () => { resolve() }
          tx.onerror = () => { reject(tx.error) }
        })
        db.close()
        return out
      })
      expect(wiped.blocks).toBeGreaterThan(5)
      // The cafe restarts (its tab reloads): it finds them gone and says so to its owner. Its
      // clients reach it once its relay reservation is back (before that a check finds it
      // unreachable, CAFE_UNREACHABLE, as it is: seen once in CI).
      await c.reload()
      await c.reachable()
      const address = (await client.api('GET', '/api/v0/account')).body.address
      await expect.poll(async () => ((await c.api('GET', '/api/v0/clients')).body as any[]).find(x => x.address === address)?.lost).toBeGreaterThan(0)
      await show(c, 'overview')
      await expect(c.page.getByTestId('blocks-lost')).toBeVisible()
      // The client's check, on demand from its health view: the cafe named failed, the repair queued.
      const t0 = Date.now()
      await client.page.getByTestId('check-now').click()
      await expect(client.page.locator(`[data-testid=health-cafe][title="${cId}"]`)).toHaveAttribute('data-state', 'failed', { timeout: 60_000 })
      console.log(`[backup-health] on-demand check of 3 cafes to the lost blocks found: ${Date.now() - t0} ms`)
      // The check runs on the three cafes side by side: C's answer can come while the others' are still 'checking'.
      await expect.poll(async () => ((await client.api('GET', '/api/v0/backups/health')).body.perCafe as any[]).filter(x => x.id !== cId).map(x => x.state), { timeout: 60_000 }).toEqual(['ok', 'ok'])
      const health = (await client.api('GET', '/api/v0/backups/health')).body
      const atC = health.perCafe.find((x: any) => x.id === cId)
      expect(atC.lastCheck).toMatchObject({ reason: 'BLOCKS_LOST', missing: wiped.blocks })
      expect(atC.repaired).toMatchObject({ blocks: wiped.blocks, bytes: wiped.bytes })
      await expect(client.page.getByTestId('health-repaired')).toContainText(`${wiped.blocks} lost block(s)`)
      // Only the lost blocks travel again: their bytes and the CAR's framing.
      await expect.poll(async () => (await allAt(client, cId)).map(x => x.status), { timeout: 120_000 }).toEqual(['pinned', 'pinned', 'pinned'])
      const after = await allAt(client, cId)
      const resent = after.reduce((n, x) => n + (x.uploaded ?? 0), 0) - before.reduce((n, x) => n + (x.uploaded ?? 0), 0)
      console.log(`[backup-health] repair: ${wiped.blocks} blocks (${wiped.bytes} bytes) lost, ${resent} bytes uploaded again`)
      expect(resent).toBeGreaterThanOrEqual(wiped.bytes)
      expect(resent).toBeLessThan(wiped.bytes + 200 * wiped.blocks + 3 * 1024)
      await expect.poll(async () => ((await c.api('GET', '/api/v0/clients')).body as any[]).find(x => x.address === address)).toMatchObject({ pins: 3, lost: 0 })
      expect((await client.api('POST', '/api/v0/backups/check', { cafe: cId })).body.perCafe.find((x: any) => x.id === cId).state).toBe('ok')
    })

    await test.step('a new device recovers everything from the repaired cafe alone', async () => {
      const mnemonic = (await client.api('GET', '/api/v0/account/mnemonic')).body.mnemonic
      const fresh = await peers('new-device')
      expect((await fresh.api('POST', '/api/v0/account', { mnemonic })).status).toBe(200)
      await joinTab(fresh, c, cId)
      const rec = await fresh.api('POST', `/api/v0/cafes/${cId}/recover`)
      expect(rec.status, JSON.stringify(rec.body)).toBe(200)
      expect(rec.body).toMatchObject({ state: 'done', files: 3, missing: 0, threads: [{ id: 'album', head: files[0].cid }] })
      for (const f of files) expect(await fileSha(fresh, f.cid)).toBe(f.sha)
      // The new device carries the backups on: its own pins of them at C (nothing sent again), checked from now on.
      await expect.poll(async () => (await allAt(fresh, cId)).map(x => x.status), { timeout: 60_000 }).toEqual(['pinned', 'pinned', 'pinned'])
      expect((await allAt(fresh, cId)).reduce((n, x) => n + (x.uploaded ?? 0), 0)).toBeLessThan(3 * 1024)
    })

    await test.step('leaving a cafe unpins there', async () => {
      expect((await client.api('DELETE', `/api/v0/cafes/${bId}`)).status).toBe(204)
      const address = (await client.api('GET', '/api/v0/account')).body.address
      expect(((await b.api('GET', '/api/v0/clients')).body as any[]).find(x => x.address === address)).toBeUndefined()
      await expect.poll(async () => (await allAt(client, bId)).length).toBe(0)
      await expect(client.page.getByTestId('health-summary')).toContainText('on 2 cafes')
    })
  } finally {
    await node.stop()
  }
})
