import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { startNodeCafe } from './node-cafe.ts'
import { call, collect, dag, registerOverHttp } from './test-helpers.ts'
import type { NodeCafe } from './node-cafe.ts'

const dirs: string[] = []
afterAll(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }) })

const free = { tcp: 0, ws: 0, http: 0, owner: 0 }
async function start (dir: string): Promise<NodeCafe> { return startNodeCafe({ dir, host: '127.0.0.1', ports: free }) }

describe('the headless cafe over real HTTP', () => {
  it('registers, uploads a CAR and reads it back over HTTP; the owner API wants the secret; all of it survives a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lightcafe-node-cafe-'))
    dirs.push(dir)
    let node = await start(dir)
    const cafeId = node.libp2p.peerId.toString()
    try {
      const secret = (await readFile(node.ownerSecretFile, 'utf8')).trim()
      const owner = { authorization: `Bearer ${secret}` }
      expect((await call(node.owner.url, 'POST', '/api/v0/tokens')).status).toBe(401)
      expect((await call(node.owner.url, 'POST', '/api/v0/tokens', undefined, { authorization: 'Bearer nope' })).body.error.reason).toBe('OWNER_SECRET_REQUIRED')
      expect((await call(node.owner.url, 'PUT', '/api/v0/cafe', { enabled: true, name: 'Pi' }, owner)).status).toBe(200)
      const { token } = (await call(node.owner.url, 'POST', '/api/v0/tokens', undefined, owner)).body
      const health = await call(node.http.url, 'GET', '/health')
      expect(health.body).toMatchObject({ ok: true, peerId: cafeId, cafe: { enabled: true, name: 'Pi' } })

      const alice = await registerOverHttp(node.http.url, cafeId, token)
      const me = await call(node.http.url, 'GET', '/cafe/v1/sessions/me', undefined, { authorization: `Bearer ${alice.access}` })
      // Bound to the HTTP carrier: there is no libp2p peer to bind it to.
      expect(me.body).toMatchObject({ address: alice.account.address, peerId: 'http' })

      const d = await dag(4, 100_000)
      const res = await fetch(`${node.http.url}/cafe/v1/uploads?name=photos`, { method: 'POST', headers: { authorization: `Bearer ${alice.access}`, 'content-type': 'application/vnd.ipld.car' }, body: await collect(d.car()) })
      expect(res.status).toBe(201)
      const pin = await res.json()
      expect(pin).toMatchObject({ status: 'pinned', pin: { cid: d.root.toString(), name: 'photos' } })

      // An oversized JSON body is cut at the carrier's cap, as over libp2p.
      const big = await fetch(`${node.http.url}/cafe/v1/sessions/challenge`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ address: 'x'.repeat(2 * 1024 * 1024) }) })
      expect(big.status).toBe(413)

      await node.stop()
      node = await start(dir)
      expect(node.libp2p.peerId.toString()).toBe(cafeId)
      const pins = await call(node.http.url, 'GET', '/cafe/v1/pins', undefined, { authorization: `Bearer ${alice.access}` })
      expect(pins.body.count).toBe(1)
      expect(pins.body.results[0]).toMatchObject({ requestid: pin.requestid, status: 'pinned' })
      const block = await fetch(`${node.http.url}/cafe/v1/ipfs/${[...d.blocks.keys()][0]}?format=raw`, { headers: { authorization: `Bearer ${alice.access}`, accept: 'application/vnd.ipld.raw' } })
      expect(block.status).toBe(200)
      expect(new Uint8Array(await block.arrayBuffer())).toEqual([...d.blocks.values()][0])
      const clients = await call(node.owner.url, 'GET', '/api/v0/clients', undefined, owner)
      expect(clients.body.map((c: { address: string }) => c.address)).toEqual([alice.account.address])
      expect(clients.body[0].bytes).toBeGreaterThanOrEqual(400_000)
    } finally {
      await node.stop()
    }
  }, 60_000)
})
