import { expect, test } from './fixtures.ts'

test('files are added encrypted with the account key and read back byte for byte', async ({ peers }) => {
  const peer = await peers('files')
  const result = await peer.page.evaluate(async () => {
    const marker = new TextEncoder().encode('LIGHTCAFE-MARKER-7f3a ')
    const data = new Uint8Array(3 * 1024 * 1024 + 123)
    for (let i = 0; i < data.length; i++) data[i] = marker[i % marker.length]
    const add = async (query: string): Promise<any> => (await fetch(`/api/v0/files${query}`, { method: 'POST', body: data })).json()
    const sealed = await add('')
    const plain = await add('?encrypt=false')
    const back = new Uint8Array(await (await fetch(`/api/v0/files/${sealed.cid}`)).arrayBuffer())
    const backPlain = new Uint8Array(await (await fetch(`/api/v0/files/${plain.cid}`)).arrayBuffer())
    const same = (a: Uint8Array): boolean => a.length === data.length && a.every((b, i) => b === data[i])

    // Search the raw blocks in IndexedDB for the marker: only the unencrypted copy may hold it.
    const blocks: Uint8Array[] = await new Promise((resolve, reject) => {
      const open = indexedDB.open('lightcafe/blocks')
      open.onerror = () => reject(open.error)
      open.onsuccess = () => {
        const db = open.result
        const tx = db.transaction(db.objectStoreNames[0], 'readonly')
        const all = tx.objectStore(db.objectStoreNames[0]).getAll()
        all.onsuccess = () => { resolve(all.result.map((v: any) => new Uint8Array(v instanceof ArrayBuffer ? v : v.buffer ?? v))); db.close() }
        all.onerror = () => reject(all.error)
      }
    })
    const text = (b: Uint8Array): string => new TextDecoder('latin1').decode(b)
    const holding = blocks.filter(b => text(b).includes('LIGHTCAFE-MARKER-7f3a')).length
    return { sealed, plain, same: same(back), samePlain: same(backPlain), blocks: blocks.length, holding }
  })
  expect(result.sealed.encrypted).toBe(true)
  expect(result.sealed.bytes).toBe(3 * 1024 * 1024 + 123)
  expect(result.plain.encrypted).toBe(false)
  expect(result.sealed.cid).not.toBe(result.plain.cid)
  expect(result.same).toBe(true)
  expect(result.samePlain).toBe(true)
  // The plaintext copy's leaves hold the marker; had encryption failed, twice as many would.
  expect(result.holding).toBeGreaterThan(0)
  const plainLeaves = Math.ceil((3 * 1024 * 1024 + 123) / (1024 * 1024))
  expect(result.holding).toBeLessThanOrEqual(plainLeaves)

  const bad = await peer.api('GET', '/api/v0/files/not-a-cid')
  expect(bad.status).toBe(400)
  expect(bad.body.error.reason).toBe('INVALID_CID')
  const unknown = await peer.api('GET', '/api/v0/files/bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy')
  expect(unknown.status).toBe(404)
})
