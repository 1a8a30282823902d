import { expect, test } from './fixtures.ts'
import { makeCafe, newToken, webrtcAddr } from './helpers.ts'

/**
 * A tab cafe made by 0.1 (its records in `lightcafe/cafe`, the idb database IdbCafeStore kept)
 * keeps its settings, clients and their sessions after the update. The 0.1 database is made in
 * real Chromium from the cafe's own records: each `/cafe/<kind>/<name>` of the new store written
 * to the old object store it came from (schema of IdbCafeStore version 2), the new store emptied
 * (marker included), then the page reloads as after an update.
 */
test('a cafe of the old IndexedDB format keeps its client after the update', async ({ peers }) => {
  test.setTimeout(180_000)
  const cafe = await peers('cafe')
  const { peerId } = await makeCafe(cafe)
  const client = await peers('client')
  expect((await client.api('POST', '/api/v0/cafes', { cafe: peerId, token: await newToken(cafe) })).status).toBe(201)
  const address = (await client.api('GET', '/api/v0/account')).body.address as string
  expect((await client.api('POST', '/api/v0/cafes/messages')).status).toBe(200)

  const moved = await cafe.page.evaluate(async () => {
    const req = async <T>(r: IDBRequest<T>): Promise<T> => new Promise((resolve, reject) => { r.onsuccess = () => { resolve(r.result) }; r.onerror = () => { reject(r.error) } })
    const open = async (name: string, version?: number, upgrade?: (db: IDBDatabase) => void): Promise<IDBDatabase> => {
      const r = indexedDB.open(name, version)
      if (upgrade != null) r.onupgradeneeded = () => { upgrade(r.result) }
      return req(r)
    }
    const newName = 'lightcafe/cafe-records/cafe'
    const now = await open(newName)
    const tx = now.transaction(newName, 'readwrite')
    const keys = await req(tx.objectStore(newName).getAllKeys()) as string[]
    const values = await req(tx.objectStore(newName).getAll()) as Uint8Array[]
    await req(tx.objectStore(newName).clear())
    now.close()
    const old = await open('lightcafe/cafe', 2, db => {
      db.createObjectStore('tokens', { keyPath: 'id' })
      db.createObjectStore('clients', { keyPath: 'address' })
      db.createObjectStore('sessions', { keyPath: 'sid' }).createIndex('address', 'address')
      db.createObjectStore('settings')
      db.createObjectStore('quotas')
    })
    const otx = old.transaction(['tokens', 'clients', 'sessions', 'settings', 'quotas'], 'readwrite')
    const counts: Record<string, number> = {}
    keys.forEach((key, i) => {
      const [, ns, kind, name] = key.split('/')
      if (ns !== 'cafe') return
      const value = JSON.parse(new TextDecoder().decode(values[i]))
      counts[kind] = (counts[kind] ?? 0) + 1
      if (kind === 'settings') otx.objectStore('settings').put(value, 'cafe')
      else if (kind === 'quota') otx.objectStore('quotas').put(value, decodeURIComponent(name))
      else otx.objectStore(`${kind}s`).put(value)
    })
    await new Promise<void>((resolve, reject) => { otx.oncomplete = () => { resolve() }; otx.onerror = () => { reject(otx.error) } })
    old.close()
    return counts
  })
  expect(moved).toMatchObject({ settings: 1, token: 1, client: 1, session: 1 })

  // The update: the page loads again and finds only the old database.
  await cafe.reload()
  await webrtcAddr(cafe)
  const clients = await cafe.page.evaluate(async () => (globalThis as any).lightcafe.peer.cafe.listClients()) as Array<{ address: string }>
  expect(clients.map(c => c.address)).toEqual([address])
  expect((await cafe.api('GET', '/api/v0/cafe')).body.enabled).toBe(true)
  // Its session still works (the refresh token's session is there), and the old database is gone.
  expect((await client.api('POST', '/api/v0/cafes/messages')).status).toBe(200)
  await expect.poll(async () => cafe.page.evaluate(async () => (await indexedDB.databases()).map(d => d.name))).not.toContain('lightcafe/cafe')
})
