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
