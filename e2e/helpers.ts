import { expect } from '@playwright/test'
import type { Peer } from './env.ts'

/** Turns cafe mode on and returns the cafe's peer id and its WebRTC (circuit) address. */
export async function makeCafe (peer: Peer): Promise<{ peerId: string, webrtc: string }> {
  const on = await peer.api('PUT', '/api/v0/cafe', { enabled: true, name: peer.name })
  expect(on.status).toBe(200)
  return { peerId: on.body.peerId, webrtc: await webrtcAddr(peer) }
}

/** Waits (bounded by expect's timeout) until the peer advertises a /p2p-circuit/webrtc address. */
export async function webrtcAddr (peer: Peer): Promise<string> {
  let addr = ''
  await expect.poll(async () => {
    const info = await peer.api('GET', '/api/v0/peer')
    addr = (info.body.multiaddrs as string[]).find(a => a.includes('/p2p-circuit/webrtc/')) ?? ''
    return addr
  }).not.toBe('')
  return addr
}

export async function newToken (cafe: Peer): Promise<string> {
  const res = await cafe.api('POST', '/api/v0/tokens')
  expect(res.status).toBe(201)
  expect(typeof res.body.token).toBe('string')
  return res.body.token
}

/** A request straight to a cafe over libp2p from this peer's page, with no session added. */
export async function rawCafe (from: Peer, cafeId: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number, body: any }> {
  return from.page.evaluate(async ({ cafeId, method, path, body, headers }) => {
    const init: RequestInit = { method, headers: { ...headers } }
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body)
      ;(init.headers as Record<string, string>)['content-type'] ??= 'application/json'
    }
    const res: Response = await (globalThis as any).lightcafe.peer.rawCafeFetch(cafeId, new Request(`http://cafe${path}`, init))
    const text = await res.text()
    let parsed: unknown = text
    try { parsed = text === '' ? null : JSON.parse(text) } catch {}
    return { status: res.status, body: parsed }
  }, { cafeId, method, path, body, headers })
}

/** Decodes a JWT's payload (no verification: the test only reads claims). */
export function claims (jwt: string): Record<string, any> {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString())
}

/** A JWT with its payload replaced but the original signature kept: a forgery. */
export function tamper (jwt: string, patch: Record<string, unknown>): string {
  const [h, , s] = jwt.split('.')
  const payload = Buffer.from(JSON.stringify({ ...claims(jwt), ...patch })).toString('base64url')
  return `${h}.${payload}.${s}`
}

/** An unsigned `alg: none` token with the given claims. */
export function unsigned (payload: Record<string, unknown>): string {
  const enc = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url')
  return `${enc({ alg: 'none', typ: 'JWT' })}.${enc(payload)}.`
}

/** Every IndexedDB database of the profile, every record, searched for a string (as UTF-8/latin1 bytes and in strings). */
export async function profileHolds (peer: Peer, needle: string): Promise<{ records: number, hits: string[] }> {
  return peer.page.evaluate(async (needle) => {
    const hits: string[] = []
    let records = 0
    const seen = (v: unknown, where: string): void => {
      if (v == null) return
      if (typeof v === 'string') { if (v.includes(needle)) hits.push(where); return }
      if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) {
        const bytes = v instanceof ArrayBuffer ? new Uint8Array(v) : new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
        if (new TextDecoder('latin1').decode(bytes).includes(needle)) hits.push(where)
        return
      }
      if (v instanceof Blob) return
      if (typeof v === 'object') for (const [k, x] of Object.entries(v as object)) seen(x, `${where}.${k}`)
    }
    for (const { name } of await indexedDB.databases()) {
      if (name == null) continue
      const db: IDBDatabase = await new Promise((resolve, reject) => { const r = indexedDB.open(name); r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error) })
      for (const store of db.objectStoreNames) {
        const rows: unknown[] = await new Promise((resolve, reject) => { const r = db.transaction(store).objectStore(store).getAll(); r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error) })
        records += rows.length
        rows.forEach((row, i) => seen(row, `${name}/${store}[${i}]`))
      }
      db.close()
    }
    return { records, hits }
  }, needle)
}

/** Opens a dashboard view by its nav link, as a user would, and waits until it shows. */
export async function show (peer: Peer, view: string): Promise<void> {
  await peer.page.getByTestId(`nav-${view}`).click()
  await expect(peer.page.getByTestId(`view-${view}`)).toBeVisible()
}
