import * as dagPb from '@ipld/dag-pb'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { accountFromMnemonic, newMnemonic, registrationMessage } from '../src/account/index.ts'
import { exportCar } from '../src/ipfs/car.ts'
import { toBase64url } from '../src/shared/bytes.ts'
import type { Account } from '../src/account/index.ts'

/** Test helpers for the headless cafe: an account registered over real HTTP, and DAGs as CARs. */

export interface HttpSession { account: Account, access: string, refresh: string }

export async function call (base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number, body: any }> {
  const res = await fetch(`${base}${path}`, { method, headers: { ...(body != null ? { 'content-type': 'application/json' } : {}), ...headers }, ...(body != null ? { body: JSON.stringify(body) } : {}), signal: AbortSignal.timeout(20_000) })
  const text = await res.text()
  return { status: res.status, body: text === '' ? null : JSON.parse(text) }
}

/** Registers a new account over HTTP with `token` (challenge, signature, session). */
export async function registerOverHttp (http: string, cafeId: string, token: string, account = accountFromMnemonic(newMnemonic())): Promise<HttpSession> {
  const { body: { nonce } } = await call(http, 'POST', '/cafe/v1/sessions/challenge', { address: account.address })
  const sig = toBase64url(account.sign(registrationMessage(cafeId, account.address, nonce)))
  const r = await call(http, 'POST', '/cafe/v1/sessions', { address: account.address, token, nonce, sig })
  if (r.status !== 201) throw new Error(`registration answered ${r.status}: ${JSON.stringify(r.body)}`)
  return { account, access: r.body.access, refresh: r.body.refresh }
}

/** A DAG of `leaves` raw leaves of `leafBytes` each under one dag-pb root; blocks by CID text. */
export async function dag (leaves: number, leafBytes: number, seed = Math.random()): Promise<{ root: CID, blocks: Map<string, Uint8Array>, car(): AsyncGenerator<Uint8Array> }> {
  const blocks = new Map<string, Uint8Array>()
  const links = []
  for (let i = 0; i < leaves; i++) {
    const leaf = new Uint8Array(leafBytes)
    const tag = new TextEncoder().encode(`${seed}:${i}:`)
    for (let j = 0; j < leafBytes; j++) leaf[j] = tag[j % tag.length] ^ (j & 0xff)
    const cid = CID.createV1(raw.code, await sha256.digest(leaf))
    blocks.set(cid.toString(), leaf)
    links.push({ Hash: cid, Name: `${i}`, Tsize: leafBytes })
  }
  const rootBytes = dagPb.encode(dagPb.prepare({ Links: links }))
  const root = CID.createV1(dagPb.code, await sha256.digest(rootBytes))
  blocks.set(root.toString(), rootBytes)
  return { root, blocks, car: () => exportCar(root, async cid => blocks.get(cid.toString())) }
}

export async function collect (it: AsyncIterable<Uint8Array>): Promise<Uint8Array<ArrayBuffer>> {
  const parts: Uint8Array[] = []
  let n = 0
  for await (const p of it) { parts.push(p); n += p.byteLength }
  const out = new Uint8Array(n)
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.byteLength }
  return out
}
