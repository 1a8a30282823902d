import { expect, test } from './fixtures.ts'
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

test('backups on every cafe: an upload cut at 90 % by a cafe crash resumes with only the rest', async ({ env, peers }) => {
  test.setTimeout(300_000)
  const node = await spawnNodeCafe(env.relay.multiaddrs)
  try {
    const client = await peers('client')
    await joinNode(client, node)

    await test.step('a 64 MiB backup to the Node cafe, cut at 90 % by SIGKILL, resumes after its restart and re-sends at most 15 %', async () => {
      const big = await addFile(client, 64 * MiB, 64)
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
      expect(held).toMatchObject({ pins: 1, lost: 0 })
      expect(held.bytes).toBe(size)
    })
  } finally {
    await node.stop()
  }
})
