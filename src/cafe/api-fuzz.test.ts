import { generateKeyPair } from '@libp2p/crypto/keys'
import { MemoryBlockstore } from 'blockstore-core/memory'
import fc from 'fast-check'
import { SignJWT, importJWK } from 'jose'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { accountFromMnemonic, newMnemonic, registrationMessage } from '../account/index.ts'
import { blocksOf } from '../ipfs/blocks.ts'
import { exportCar } from '../ipfs/car.ts'
import { toBase64url } from '../shared/bytes.ts'
import { ActivityLog } from './activity.ts'
import { createCafeApp } from './app.ts'
import { backupUsage } from './backup-api.ts'
import { ContactIndex } from './contacts/contact-index.ts'
import { MemoryContactStore } from './contacts/contact-store.ts'
import { CafeContacts } from './contacts/contacts.ts'
import { inboxUsage } from './inbox/inbox-api.ts'
import { MemoryInboxStore } from './inbox/inbox-store.ts'
import { CafeInbox } from './inbox/inbox.ts'
import { PinService } from './pins/pin-service.ts'
import { MemoryPinStore } from './pins/pin-store.ts'
import { audienceOf } from './sessions.ts'
import { MemorySnapshotStore, Snapshots } from './snapshots.ts'
import { MemoryCafeStore } from './store.ts'
import { expectErrorContract } from '../../test/fixtures/error-contract.ts'
import { testCafeHost } from '../../test/fixtures/cafe-host.ts'

/**
 * Property-based fuzzing of every route of the cafe API (`/cafe/v1`), built with all its
 * services on memory stores as the node page builds it: arbitrary methods, paths, query
 * strings, headers (Authorization garbage, JWTs signed by another key, for another cafe, of the
 * wrong scope) and bodies (any JSON, wrong types on each route's fields, deep nesting,
 * oversized, not JSON). For every request: `app.fetch` answers (never throws), every 4xx/5xx
 * has the error shape with a documented reason, nothing is a 500, and a refused request leaves
 * every store (records and blocks) as it was.
 */

// Every reason docs/API.md names: a refusal with a reason not listed there is a finding.

interface Rig {
  app: ReturnType<typeof createCafeApp>
  snapshot: () => Promise<string>
  settle: () => Promise<void>
  values: { cid: string, address: string, access: string, refresh: string, requestid: string, foreign: string[] }
}

async function rig (): Promise<Rig> {
  const store = new MemoryCafeStore()
  const { cafeId, host, privateKeyRaw } = await testCafeHost({ store, settings: { enabled: true, name: 'fuzz' } })
  const blockstore = new MemoryBlockstore()
  const pinStore = new MemoryPinStore()
  const pins = new PinService({ blocks: blocksOf(blockstore), store: pinStore, quota: async a => host.quotaOf(a), delegates: () => [`/p2p/${cafeId}`] })
  const snapshotStore = new MemorySnapshotStore()
  const snapshots = new Snapshots(snapshotStore)
  host.useService(backupUsage(pins, snapshots))
  const contactStore = new MemoryContactStore()
  const contacts = new CafeContacts(contactStore)
  const index = await ContactIndex.load(contactStore)
  contacts.addEventListener('change', ({ detail: { address, contact } }) => { if (contact != null) index.upsert(contact); else index.remove(address) })
  const inboxStore = new MemoryInboxStore()
  const inbox = new CafeInbox({ store: inboxStore, isRegistered: async a => (await store.getClient(a)) != null })
  host.useService(inboxUsage(inbox, contacts))
  const activity = new ActivityLog()
  const app = createCafeApp(host, { version: 'fuzz', onActivity: a => { activity.record(a) }, services: { pins, snapshots, inbox, contacts, search: { index: () => index, forward: { cafes: async () => [], ask: async () => ({ results: [] }) } } } })

  const alice = accountFromMnemonic(newMnemonic())
  const { token } = await host.createToken()
  const { nonce } = host.challenge(alice.address, 'peerA')
  const s = await host.register({ address: alice.address, token, nonce, sig: toBase64url(alice.sign(registrationMessage(cafeId, alice.address, nonce))) }, 'peerA', 'peerA')
  // Something held in every store, so a refusal that deletes shows too.
  const bytes = new TextEncoder().encode('held by alice')
  const cid = CID.createV1(raw.code, await sha256.digest(bytes))
  const pinned = await pins.upload({ address: alice.address, peerId: 'peerA' }, exportCar(cid, async () => bytes), { name: 'held' })
  await snapshots.put(alice.address, 'thread-1', { ciphertext: toBase64url(new Uint8Array(32)) })

  // Valid-looking JWTs that must all be refused: another key, another cafe, another audience, `none`.
  const other = await generateKeyPair('Ed25519')
  const otherKey = await importJWK({ kty: 'OKP', crv: 'Ed25519', x: toBase64url(other.raw.subarray(32)), d: toBase64url(other.raw.subarray(0, 32)) }, 'EdDSA')
  const ownKey = await importJWK({ kty: 'OKP', crv: 'Ed25519', x: toBase64url(privateKeyRaw.subarray(32)), d: toBase64url(privateKeyRaw.subarray(0, 32)) }, 'EdDSA')
  const jwt = async (k: typeof ownKey, iss: string, aud: string, claims: Record<string, unknown>, expS = 600): Promise<string> => new SignJWT(claims)
    .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' }).setIssuer(iss).setSubject(alice.address).setAudience(aud)
    .setIssuedAt().setExpirationTime(Math.floor(Date.now() / 1000) + expS).setJti('j').sign(k)
  const claims = { scope: 'access', sid: s.id, peer: 'peerA' }
  const foreign = [
    await jwt(otherKey, cafeId, audienceOf(cafeId), claims),
    await jwt(ownKey, 'another-cafe', audienceOf(cafeId), claims),
    await jwt(ownKey, cafeId, 'another-audience', claims),
    await jwt(ownKey, cafeId, audienceOf(cafeId), claims, -3600),
    await jwt(ownKey, cafeId, audienceOf(cafeId), { scope: 'access', sid: 'no-such-session', peer: 'peerA' }),
    await jwt(ownKey, cafeId, audienceOf(cafeId), { scope: 'access', sid: 7, peer: ['x'] }),
    `${toBase64url(new TextEncoder().encode('{"alg":"none","typ":"JWT"}'))}.${s.access.split('.')[1]}.`
  ]

  const sorted = (rows: unknown[]): unknown[] => rows.map(r => JSON.stringify(r)).sort()
  const snapshot = async (): Promise<string> => {
    const blocks: string[] = []
    for await (const { cid: k, bytes } of blockstore.getAll()) {
      const parts: Uint8Array[] = []
      for await (const b of bytes) parts.push(b)
      blocks.push(`${k.toString()}:${parts.map(toBase64url).join('')}`)
    }
    const clients = await store.listClients()
    const addresses = clients.map(c => c.address)
    return JSON.stringify({
      tokens: sorted(await store.listTokens()),
      // lastSeen is a heartbeat of authentication (throttled), not something a request stores.
      clients: sorted(clients.map(({ lastSeen: _, ...c }) => c)),
      session: await store.getSession(s.id),
      settings: await store.getSettings(),
      pins: sorted(await pinStore.all()),
      unfinished: sorted(await pinStore.batches()),
      snapshots: await Promise.all(addresses.map(async a => sorted(await snapshotStore.list(a)))),
      inbox: await Promise.all(addresses.map(async a => inboxStore.list(a, 0, 10_000, new Date(0).toISOString()))),
      contacts: sorted(await contactStore.all()),
      blocks: blocks.sort()
    })
  }
  // Accepted pins pull in the background; wait until none runs, so a snapshot sees only the request.
  const settle = async (): Promise<void> => {
    await vi.waitFor(async () => { expect((await pinStore.all()).filter(p => p.status === 'queued' || p.status === 'pinning')).toEqual([]) }, { timeout: 5_000, interval: 5 })
  }
  return { app, snapshot, settle, values: { cid: cid.toString(), address: alice.address, access: s.access, refresh: s.refresh, requestid: pinned.requestid, foreign } }
}

const ROUTES: Array<[string, string]> = [
  ['GET', '/info'], ['POST', '/sessions/challenge'], ['POST', '/sessions'], ['POST', '/sessions/refresh'], ['DELETE', '/sessions'], ['GET', '/sessions/me'],
  ['GET', '/pins'], ['POST', '/pins'], ['GET', '/pins/:requestid'], ['POST', '/pins/:requestid'], ['DELETE', '/pins/:requestid'],
  ['POST', '/uploads'], ['DELETE', '/uploads/:cid'], ['POST', '/blocks/missing'], ['POST', '/proofs'], ['GET', '/storage'], ['GET', '/ipfs/:cid'],
  ['GET', '/snapshots'], ['PUT', '/snapshots/:id'], ['GET', '/snapshots/:id'], ['DELETE', '/snapshots/:id'],
  ['POST', '/inbox'], ['GET', '/inbox'], ['POST', '/inbox/ack'], ['PUT', '/contacts'], ['GET', '/contacts/:address'], ['POST', '/search']
]

/** The field names the routes read, so wrong types land on real fields. */
const FIELDS = ['cids', 'address', 'token', 'nonce', 'sig', 'peerId', 'cid', 'name', 'origins', 'meta', 'ciphertext', 'version', 'to', 'from', 'id', 'box', 'envelope', 'messages', 'hops', 'limit', 'wait', 'visited', 'peers', 'inboxes', 'updated', 'signature', 'payload']

function deep (depth: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)
}

/** Placeholders stand for the rig's current values (its session is rebuilt when a request ends it). */
const v = { cid: '$CID', address: '$ADDR', requestid: '$REQ', access: '$ACCESS', refresh: '$REFRESH', foreign: [0, 1, 2, 3, 4, 5, 6].map(i => `$FOREIGN${i}`) }

function request (only?: [string, string]): fc.Arbitrary<{ method: string, path: string, headers: Record<string, string>, body?: string | Uint8Array, env: { remotePeer?: string } }> {
  const param = fc.oneof(fc.constantFrom(v.cid, v.address, v.requestid, 'thread-1', 'bafy', '..', '%00', '%E0%A4%A', 'a'.repeat(5000)), fc.string({ maxLength: 80 }).map(encodeURIComponent))
  const routed = fc.tuple(only != null ? fc.constant(only) : fc.constantFrom(...ROUTES), param).map(([[m, p], x]) => ({ method: m, path: p.replace(/:[a-z]+/, x) }))
  const path = fc.oneof(
    { weight: 6, arbitrary: fc.tuple(fc.constantFrom(...ROUTES.map(r => r[1])), param).map(([p, x]) => p.replace(/:[a-z]+/, x)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 60 }).map(s => `/${encodeURIComponent(s)}`) },
    { weight: 1, arbitrary: fc.constantFrom('/pins/', '/snapshots/', '/ipfs/', '/contacts/', '//pins', '/sessions/me/', '/inbox/ack/x') }
  )
  const method = fc.oneof({ weight: 5, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE') }, { weight: 1, arbitrary: fc.constantFrom('PATCH', 'OPTIONS', 'HEAD', 'QUERY', 'FOO') })
  const query = fc.array(fc.tuple(
    fc.oneof(fc.constantFrom('status', 'cid', 'name', 'match', 'limit', 'before', 'after', 'meta', 'format', 'refresh'), fc.string({ maxLength: 8 })),
    fc.oneof(fc.constantFrom('pinned', 'queued,failed', 'lost', 'exact', 'ipartial', '0', '-1', '1e3', '99999999999999999999', '2026-01-01T00:00:00Z', 'not-a-date', '{"a":"b"}', '{"a":1}', '[]', 'car', v.cid, `${v.cid},${v.cid}`), fc.string({ maxLength: 40 }))
  ), { maxLength: 4 }).map(pairs => pairs.length === 0 ? '' : `?${new URLSearchParams(pairs).toString()}`)
  const auth = fc.oneof(
    { weight: 6, arbitrary: fc.constant(`Bearer ${v.access}`) },
    fc.constant(undefined),
    fc.constantFrom(`Bearer ${v.access}`, `Bearer ${v.refresh}`, `bearer ${v.access}`, `Bearer  ${v.access}`, 'Bearer', 'Basic abc', `Bearer ${v.access}x`, `Bearer ${'a.'.repeat(3000)}`),
    fc.constantFrom(...v.foreign).map(j => `Bearer ${j}`),
    fc.string({ maxLength: 60 }).map(s => `Bearer ${s}`),
    fc.string({ maxLength: 60 })
  )
  const contentType = fc.oneof(fc.constantFrom(undefined, 'application/json', 'application/json; charset=utf-8', 'application/vnd.ipld.car', 'text/plain', 'multipart/form-data; boundary=x'), fc.string({ maxLength: 30 }))
  const fieldsObject = fc.dictionary(fc.constantFrom(...FIELDS), fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom(v.cid, v.address, v.requestid, 'x'.repeat(70_000))), { maxKeys: 8 })
  const body = fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 4, arbitrary: fieldsObject.map(o => JSON.stringify(o)) },
    { weight: 2, arbitrary: fc.jsonValue().map(j => JSON.stringify(j)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
    { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1, max: 200_000 }), fc.constantFrom('array' as const, 'object' as const)).map(([d, k]) => deep(d, k)) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 3_000_000 }).map(n => JSON.stringify({ address: v.address, name: 'x'.repeat(n) })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 400 }) }
  )
  const target = fc.oneof({ weight: only != null ? 8 : 3, arbitrary: routed }, { weight: 1, arbitrary: fc.record({ method, path }) })
  return fc.record({
    target: fc.tuple(target, query).map(([t, q]) => ({ method: t.method, path: t.path + q })),
    auth,
    contentType,
    contentLength: fc.option(fc.constantFrom('0', '10', '-1', 'abc', '99999999999'), { nil: undefined }),
    extra: fc.array(fc.tuple(fc.constantFrom('origin', 'sec-fetch-site', 'x-forwarded-for', 'accept', 'range', 'if-none-match'), fc.string({ maxLength: 30 })), { maxLength: 2 }),
    body,
    env: fc.constantFrom({ remotePeer: 'peerA' }, { remotePeer: 'peerA' }, { remotePeer: 'peerB' }, {})
  }).map(r => {
    const headers: Record<string, string> = {}
    if (r.auth !== undefined) headers.authorization = r.auth
    if (r.contentType !== undefined) headers['content-type'] = r.contentType
    if (r.contentLength !== undefined) headers['content-length'] = r.contentLength
    for (const [k, x] of r.extra) headers[k] = x
    const m = r.target.method
    return { method: m, path: r.target.path, headers, ...(r.body !== undefined && m !== 'GET' && m !== 'HEAD' ? { body: r.body } : {}), env: r.env }
  })
}

/** A Request as a carrier would make it; undefined when the platform itself refuses to build it (bad header bytes). */
function build (r: { method: string, path: string, headers: Record<string, string>, body?: string | Uint8Array }, values: Rig['values']): Request | undefined {
  const fill = (text: string): string => text.replace(/\$(CID|ADDR|REQ|ACCESS|REFRESH|FOREIGN\d)/g, (_m, k: string) => {
    if (k.startsWith('FOREIGN')) return values.foreign[Number(k.slice(7))]
    return { CID: values.cid, ADDR: values.address, REQ: values.requestid, ACCESS: values.access, REFRESH: values.refresh }[k]!
  })
  try {
    const headers = Object.fromEntries(Object.entries(r.headers).map(([k, x]) => [k, fill(x)]))
    const body: BodyInit | undefined = typeof r.body === 'string' ? fill(r.body) : r.body as BodyInit | undefined
    return new Request(`http://cafe/cafe/v1${fill(r.path)}`, { method: r.method, headers, ...(body !== undefined ? { body } : {}) })
  } catch {
    return undefined
  }
}

describe('fuzzing the cafe API', () => {
  let s: Rig
  beforeAll(async () => { s = await rig() })

  const seen = new Map<string, number>()
  /** One request and the properties every answer must have. */
  const check = async (r: ReturnType<typeof request> extends fc.Arbitrary<infer T> ? T : never): Promise<void> => {
    const req = build(r, s.values)
    if (req == null) return
    await s.settle()
    const before = await s.snapshot()
    let res: Response
    try {
      res = await s.app.fetch(req, r.env)
    } catch (err) {
      throw new Error(`app.fetch threw for ${r.method} ${r.path}: ${String(err)}`, { cause: err })
    }
    expect(res).toBeInstanceOf(Response)
    const text = await res.text()
    const key = `${res.status}`
    seen.set(key, (seen.get(key) ?? 0) + 1)
    // A request that ended or rotated the session (or removed the pin) leaves later ones nothing to reach: start again.
    if (res.status < 300 && (r.method === 'DELETE' || r.path.startsWith('/sessions/refresh') || r.path.startsWith('/pins/'))) s = await rig()
    expect(res.status, `${r.method} ${r.path.slice(0, 80)}: ${text.slice(0, 200)}`).not.toBe(500)
    if (res.status < 400) return
    if (r.method !== 'HEAD') {
      expectErrorContract(text)
    }
    expect(await s.snapshot(), `${r.method} ${r.path.slice(0, 80)} was refused (${res.status} ${text.slice(0, 120)}) but changed a store`).toBe(before)
  }

  // Each route gets its own runs (inputs aimed at it, some strays), then a run over all at random.
  for (const route of ROUTES) {
    it(`${route[0]} ${route[1]}: always a Response, a documented reason, no 500, nothing stored when refused`, async () => {
      await fc.assert(fc.asyncProperty(request(route), check), { numRuns: Number(process.env.FUZZ_RUNS ?? 25) })
    }, 60_000)
  }

  it('any route: answers every request with a Response; refusals carry a documented reason, never 500, and store nothing', async () => {
    await fc.assert(fc.asyncProperty(request(), check), { numRuns: Number(process.env.FUZZ_RUNS ?? 150) })
    if (process.env.FUZZ_RUNS != null) console.log([...seen].sort())
    // The runs reached past the authentication and validation layers, and refusals of each kind.
    expect([...seen.keys()].filter(k => k.startsWith('2')).length).toBeGreaterThan(0)
    expect(seen.get('401') ?? 0).toBeGreaterThan(0)
    expect(seen.get('400') ?? 0).toBeGreaterThan(0)
  }, 60_000)
})
