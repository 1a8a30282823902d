import 'fake-indexeddb/auto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { IDBDatastore } from 'datastore-idb'
import { SignJWT, importJWK } from 'jose'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { accountFromMnemonic, newMnemonic, registrationMessage } from '../account/index.ts'
import { toBase64url } from '../shared/bytes.ts'
import { DatastoreCafeStore } from './datastore/cafe-store.ts'
import { CafeHost } from './host.ts'
import { SESSION_LIMITS } from './limits.ts'
import { audienceOf } from './sessions.ts'
import { testCafeHost } from '../../test/fixtures/cafe-host.ts'
import { MemoryCafeStore } from './store.ts'
import type { Account } from '../account/index.ts'
import type { Session } from './host.ts'
import type { NextRefresh, Registration, Rotation, SessionRecord } from './store.ts'
import type { CryptoKey } from 'jose'

interface Cafe { host: CafeHost, store: MemoryCafeStore, peerId: string, raw: Uint8Array, clock: { ms: number } }

/** A cafe host over `store` on a clock the test moves (settings as the store has them). */
async function cafeOver<S extends MemoryCafeStore> (store: S): Promise<Cafe & { store: S }> {
  const clock = { ms: Date.parse('2026-01-01T00:00:00Z') }
  const { cafeId: peerId, host, privateKeyRaw: raw } = await testCafeHost({ store, now: () => clock.ms, settings: null })
  return { host, store, peerId, raw, clock }
}

async function cafe (): Promise<Cafe> { return cafeOver(new MemoryCafeStore()) }

async function signingKey (raw: Uint8Array): Promise<CryptoKey> {
  return importJWK({ kty: 'OKP', crv: 'Ed25519', x: toBase64url(raw.subarray(32)), d: toBase64url(raw.subarray(0, 32)) }, 'EdDSA') as Promise<CryptoKey>
}

async function register (c: Cafe, who: Account, token: string, peer = 'peerA'): Promise<Session> {
  const { nonce } = c.host.challenge(who.address)
  const sig = toBase64url(who.sign(registrationMessage(c.peerId, who.address, nonce)))
  return c.host.register({ address: who.address, token, nonce, sig }, peer)
}

async function rejects (p: Promise<unknown>, reason: string, status?: number): Promise<void> {
  const err = await p.then(() => null, (e: unknown) => e) as { reason?: string, status?: number } | null
  expect(err, `expected ${reason}`).not.toBeNull()
  expect(err?.reason).toBe(reason)
  if (status != null) expect(err?.status).toBe(status)
}

describe('access tokens', () => {
  let c: Cafe
  const alice = accountFromMnemonic(newMnemonic())
  const bob = accountFromMnemonic(newMnemonic())
  beforeEach(async () => { c = await cafe() })

  it('stores only a hash, never the secret, and lists without it', async () => {
    const { id, token } = await c.host.createToken()
    const secret = token.split('.')[1]
    const [record] = await c.store.listTokens()
    expect(record.id).toBe(id)
    expect(JSON.stringify(record)).not.toContain(secret)
    expect(JSON.stringify(await c.host.listTokens())).not.toContain(record.hash)
  })

  it('registers with the right token and refuses wrong, malformed, revoked and foreign-used ones', async () => {
    const { id, token } = await c.host.createToken()
    const wrongSecret = `${id}.${'A'.repeat(43)}`
    await rejects(register(c, alice, wrongSecret), 'TOKEN_INVALID', 401)
    await rejects(register(c, alice, 'garbage'), 'TOKEN_INVALID', 401)
    expect((await register(c, alice, token)).address).toBe(alice.address)
    // Bound to alice now: alice may use it again, bob may not.
    expect((await register(c, alice, token)).address).toBe(alice.address)
    await rejects(register(c, bob, token), 'TOKEN_USED', 403)
    const other = await c.host.createToken()
    await c.host.revokeToken(other.id)
    await rejects(register(c, bob, other.token), 'TOKEN_REVOKED', 401)
    expect((await c.host.listClients()).map(x => x.address)).toEqual([alice.address])
    await rejects(c.host.revokeToken('nope'), 'TOKEN_NOT_FOUND', 404)
  })
})

describe('challenges', () => {
  it('are single use, expire, and belong to one address', async () => {
    const c = await cafe()
    const alice = accountFromMnemonic(newMnemonic())
    const bob = accountFromMnemonic(newMnemonic())
    const { token } = await c.host.createToken()
    const { nonce } = c.host.challenge(alice.address)
    const sig = toBase64url(alice.sign(registrationMessage(c.peerId, alice.address, nonce)))
    await c.host.register({ address: alice.address, token, nonce, sig }, 'p')
    await rejects(c.host.register({ address: alice.address, token, nonce, sig }, 'p'), 'NONCE_INVALID', 401)

    const late = c.host.challenge(alice.address).nonce
    c.clock.ms += SESSION_LIMITS.nonceTtlMs + 1
    await rejects(c.host.register({ address: alice.address, token, nonce: late, sig: toBase64url(alice.sign(registrationMessage(c.peerId, alice.address, late))) }, 'p'), 'NONCE_INVALID')

    const forBob = c.host.challenge(bob.address).nonce
    await rejects(c.host.register({ address: alice.address, token, nonce: forBob, sig: toBase64url(alice.sign(registrationMessage(c.peerId, alice.address, forBob))) }, 'p'), 'NONCE_INVALID')
    expect(() => c.host.challenge('not-an-address')).toThrow(/address/)
  })

  it('refuse a signature by another key, for another cafe, and spend the nonce anyway', async () => {
    const c = await cafe()
    const alice = accountFromMnemonic(newMnemonic())
    const mallory = accountFromMnemonic(newMnemonic())
    const { token } = await c.host.createToken()
    const { nonce } = c.host.challenge(alice.address)
    await rejects(c.host.register({ address: alice.address, token, nonce, sig: toBase64url(mallory.sign(registrationMessage(c.peerId, alice.address, nonce))) }, 'p'), 'BAD_SIGNATURE', 401)
    await rejects(c.host.register({ address: alice.address, token, nonce, sig: toBase64url(alice.sign(registrationMessage(c.peerId, alice.address, nonce))) }, 'p'), 'NONCE_INVALID')
    const n2 = c.host.challenge(alice.address).nonce
    await rejects(c.host.register({ address: alice.address, token, nonce: n2, sig: toBase64url(alice.sign(registrationMessage('another-cafe', alice.address, n2))) }, 'p'), 'BAD_SIGNATURE')
    expect(await c.host.listClients()).toEqual([])
  })
})

describe('challenge floods', () => {
  it('10,000 challenges from one peer neither evict nor block another peer\'s registration', async () => {
    const c = await cafe()
    const alice = accountFromMnemonic(newMnemonic())
    const { token } = await c.host.createToken()
    const { nonce } = c.host.challenge(alice.address, 'alice-peer')
    let limited = 0
    for (let i = 0; i < 10_000; i++) {
      try { c.host.challenge(alice.address, 'mallory-peer') } catch (err) { if ((err as { reason?: string }).reason === 'RATE_LIMITED') limited++ }
    }
    expect(limited).toBeGreaterThan(9_900)
    // The flooder cannot spend alice's challenge, even naming her address.
    const sig = toBase64url(alice.sign(registrationMessage(c.peerId, alice.address, nonce)))
    await rejects(c.host.register({ address: alice.address, token, nonce, sig }, 'mallory-peer', 'mallory-peer'), 'NONCE_INVALID', 401)
    expect((await c.host.register({ address: alice.address, token, nonce, sig }, 'alice-peer', 'alice-peer')).address).toBe(alice.address)
  })
})

describe('JWT sessions', () => {
  let c: Cafe
  let s: Session
  const alice = accountFromMnemonic(newMnemonic())
  beforeEach(async () => {
    c = await cafe()
    s = await register(c, alice, (await c.host.createToken()).token, 'peerA')
  })

  it('authenticates the access token, bound to its peer', async () => {
    expect(await c.host.authenticate(s.access, 'peerA')).toEqual({ address: alice.address, peerId: 'peerA', sid: s.id })
    expect((await c.host.authenticate(s.access)).address).toBe(alice.address) // same-origin caller: no peer to bind
    await rejects(c.host.authenticate(s.access, 'peerB'), 'PEER_MISMATCH', 403)
  })

  it('expires access tokens, and refresh gives a working new pair', async () => {
    c.clock.ms += (SESSION_LIMITS.accessTtlS + SESSION_LIMITS.clockToleranceS + 1) * 1000
    await rejects(c.host.authenticate(s.access, 'peerA'), 'JWT_EXPIRED', 401)
    const next = await c.host.refresh(s.refresh, 'peerA')
    expect(next.access).not.toBe(s.access)
    expect(next.refresh).not.toBe(s.refresh)
    expect((await c.host.authenticate(next.access, 'peerA')).sid).toBe(s.id)
    c.clock.ms += (SESSION_LIMITS.refreshTtlS + 60) * 1000
    await rejects(c.host.refresh(next.refresh, 'peerA'), 'JWT_EXPIRED', 401)
  })

  it('refuses each scope in place of the other', async () => {
    await rejects(c.host.authenticate(s.refresh, 'peerA'), 'WRONG_SCOPE', 401)
    await rejects(c.host.refresh(s.access, 'peerA'), 'WRONG_SCOPE', 401)
  })

  it('a lost refresh answer does not end the session: a retry with the old token within the window gets the same pair', async () => {
    const next = await c.host.refresh(s.refresh, 'peerA') // its answer never reached the client
    c.clock.ms += SESSION_LIMITS.refreshGraceMs - 1000
    const again = await c.host.refresh(s.refresh, 'peerA')
    expect(again).toEqual(next)
    expect((await c.host.authenticate(again.access, 'peerA')).sid).toBe(s.id)
    // The retry rotated nothing: the new refresh token still works, once.
    const third = await c.host.refresh(again.refresh, 'peerA')
    expect(third.refresh).not.toBe(next.refresh)
    // Now two rotations behind: a reuse, which ends the session even inside a window.
    await rejects(c.host.refresh(s.refresh, 'peerA'), 'REFRESH_REUSED', 401)
    await rejects(c.host.authenticate(third.access, 'peerA'), 'SESSION_ENDED', 401)
  })

  it('the retry window holds across a cafe reload (the pair is in the store), and only for the caller\'s peer', async () => {
    const next = await c.host.refresh(s.refresh, 'peerA')
    const reloaded = new CafeHost({ peerId: c.peerId, privateKeyRaw: c.raw, store: c.store, now: () => c.clock.ms })
    await rejects(reloaded.refresh(s.refresh, 'peerB'), 'PEER_MISMATCH', 403)
    expect(await reloaded.refresh(s.refresh, 'peerA')).toEqual(next)
  })

  it('the retry window is kept in IndexedDB: a cafe page reloaded on the same database gives the same pair', async () => {
    const key = await generateKeyPair('Ed25519')
    const peerId = peerIdFromPrivateKey(key).toString()
    const clock = { ms: Date.parse('2026-01-01T00:00:00Z') }
    const db = `cafe-test-${peerId}`
    const open = async (): Promise<DatastoreCafeStore> => { const ds = new IDBDatastore(db); await ds.open(); opened.push(ds); return new DatastoreCafeStore(ds) }
    const opened: IDBDatastore[] = []
    const before = new CafeHost({ peerId, privateKeyRaw: key.raw, store: await open(), now: () => clock.ms })
    const first = await register({ host: before, store: new MemoryCafeStore(), peerId, raw: key.raw, clock }, alice, (await before.createToken()).token)
    const next = await before.refresh(first.refresh, 'peerA')
    opened[0].close()
    const after = new CafeHost({ peerId, privateKeyRaw: key.raw, store: await open(), now: () => clock.ms })
    expect(await after.refresh(first.refresh, 'peerA')).toEqual(next)
    clock.ms += SESSION_LIMITS.refreshGraceMs
    await rejects(after.refresh(first.refresh, 'peerA'), 'REFRESH_REUSED', 401)
  })

  it('ends the session when a rotated refresh token is used again after the window', async () => {
    const next = await c.host.refresh(s.refresh, 'peerA')
    c.clock.ms += SESSION_LIMITS.refreshGraceMs
    await rejects(c.host.refresh(s.refresh, 'peerA'), 'REFRESH_REUSED', 401)
    await rejects(c.host.authenticate(next.access, 'peerA'), 'SESSION_ENDED', 401)
    await rejects(c.host.refresh(next.refresh, 'peerA'), 'SESSION_ENDED', 401)
  })

  it('refuses forged tokens, each for its own reason', async () => {
    const [h, p, sig] = s.access.split('.')
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString())
    const enc = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url')
    await rejects(c.host.authenticate(`${h}.${enc({ ...claims, sub: 'z6Mkother' })}.${sig}`), 'JWT_BAD_SIGNATURE', 401)
    await rejects(c.host.authenticate(`${h}.${p}.${sig.slice(0, -4)}AAAA`), 'JWT_BAD_SIGNATURE', 401)
    await rejects(c.host.authenticate(`${enc({ alg: 'none', typ: 'JWT' })}.${p}.`), 'JWT_BAD_ALG', 401)
    const pub = c.raw.subarray(32)
    const hs = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(pub)
    await rejects(c.host.authenticate(hs), 'JWT_BAD_ALG', 401)
    const other = await generateKeyPair('Ed25519')
    const foreign = await new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA' }).sign(await signingKey(other.raw))
    await rejects(c.host.authenticate(foreign), 'JWT_BAD_SIGNATURE', 401)
    await rejects(c.host.authenticate('not.a.jwt'), 'JWT_INVALID', 401)
    // Signed with this cafe's own key, one claim off at a time.
    const ownKey = await signingKey(c.raw)
    const own = async (patch: Record<string, unknown>): Promise<string> => new SignJWT({ ...claims, ...patch }).setProtectedHeader({ alg: 'EdDSA' }).sign(ownKey)
    await rejects(c.host.authenticate(await own({ aud: audienceOf('someone-else') })), 'JWT_WRONG_AUDIENCE', 401)
    await rejects(c.host.authenticate(await own({ iss: 'another-cafe' })), 'JWT_WRONG_ISSUER', 401)
    await rejects(c.host.authenticate(await own({ exp: claims.iat - 60 })), 'JWT_EXPIRED', 401)
    await rejects(c.host.authenticate(await own({ sid: undefined })), 'JWT_INVALID', 401)
    expect((await c.host.authenticate(await own({}))).address).toBe(alice.address) // the control: only the patched claim differed
  })

  it('refuses the tokens of a deregistered or removed client', async () => {
    await c.host.deregister(s.access, 'peerA')
    await rejects(c.host.authenticate(s.access, 'peerA'), 'SESSION_ENDED', 401)
    expect(await c.host.listClients()).toEqual([])
    const again = await register(c, alice, (await c.host.createToken()).token, 'peerA')
    await c.host.removeClient(alice.address)
    await rejects(c.host.authenticate(again.access, 'peerA'), 'SESSION_ENDED', 401)
    await rejects(c.host.removeClient(alice.address), 'CLIENT_NOT_FOUND', 404)
  })
})

/** A memory store whose chosen methods wait at a gate: lets a test land a write in the middle of another. */
class GatedStore extends MemoryCafeStore {
  gate: { register?: Promise<void>, getSession?: Promise<void>, rotateRefresh?: Promise<void> } = {}
  reached = { register: false, getSession: false, rotateRefresh: false }
  override async register (reg: Registration): Promise<void> {
    this.reached.register = true
    await this.gate.register
    return super.register(reg)
  }

  // Reads first, then waits: the read value is as old as a racing caller would see.
  override async getSession (sid: string): Promise<SessionRecord | undefined> {
    const s = await super.getSession(sid)
    this.reached.getSession = true
    await this.gate.getSession
    return s
  }

  override async rotateRefresh (sid: string, expected: string, next: NextRefresh, now: string): Promise<Rotation> {
    this.reached.rotateRefresh = true
    await this.gate.rotateRefresh
    return super.rotateRefresh(sid, expected, next, now)
  }
}

async function gatedCafe (): Promise<Cafe & { store: GatedStore }> { return cafeOver(new GatedStore()) }

function gate (): { wait: Promise<void>, open: () => void } {
  let open = (): void => {}
  const wait = new Promise<void>(resolve => { open = resolve })
  return { wait, open }
}

async function until (cond: () => boolean): Promise<void> {
  await vi.waitFor(() => { expect(cond()).toBe(true) }, { timeout: 5_000, interval: 1 })
}

describe('policy and races', () => {
  const alice = accountFromMnemonic(newMnemonic())

  it('revoking a token stops new registrations but keeps sessions it already made; removing the client ends them', async () => {
    const c = await cafe()
    const { id, token } = await c.host.createToken()
    const s = await register(c, alice, token)
    await c.host.revokeToken(id)
    expect((await c.host.authenticate(s.access, 'peerA')).address).toBe(alice.address)
    expect((await c.host.refresh(s.refresh, 'peerA')).address).toBe(alice.address)
    await rejects(register(c, alice, token), 'TOKEN_REVOKED', 401)
    expect(await c.host.listTokens()).toEqual([expect.objectContaining({ id, usedBy: alice.address, revoked: expect.any(String) })])
    await c.host.removeClient(alice.address)
    await rejects(c.host.authenticate(s.access, 'peerA'), 'SESSION_ENDED', 401)
  })

  it('a revocation that lands during a registration wins, and nothing is stored', async () => {
    const c = await gatedCafe()
    const { id, token } = await c.host.createToken()
    const g = gate()
    c.store.gate.register = g.wait
    const pending = register(c, alice, token)
    await until(() => c.store.reached.register) // token already checked by the host
    await c.host.revokeToken(id)
    g.open()
    await rejects(pending, 'TOKEN_REVOKED', 401)
    expect(await c.host.listClients()).toEqual([])
    expect((await c.host.listTokens())[0]).toMatchObject({ id, revoked: expect.any(String) })
    expect((await c.host.listTokens())[0].usedBy).toBeUndefined()
  })

  it('of two refreshes racing with one token, one rotates and the other gets the same pair', async () => {
    const c = await cafe()
    const s = await register(c, alice, (await c.host.createToken()).token)
    const [a, b] = await Promise.all([c.host.refresh(s.refresh, 'peerA'), c.host.refresh(s.refresh, 'peerA')])
    expect(b).toEqual(a)
    expect((await c.host.authenticate(a.access, 'peerA')).sid).toBe(s.id)
  })

  it('a session read that races a removal is not cached', async () => {
    const c = await gatedCafe()
    const s = await register(c, alice, (await c.host.createToken()).token)
    const g = gate()
    c.store.gate.getSession = g.wait
    const inFlight = c.host.authenticate(s.access, 'peerA')
    await until(() => c.store.reached.getSession) // read done, before the removal
    await c.host.removeClient(alice.address)
    g.open()
    await inFlight // began before the removal: may pass
    c.store.gate.getSession = undefined
    await rejects(c.host.authenticate(s.access, 'peerA'), 'SESSION_ENDED', 401)
  })

  it('a refresh that races a removal does not bring the session back', async () => {
    const c = await gatedCafe()
    const s = await register(c, alice, (await c.host.createToken()).token)
    const g = gate()
    c.store.gate.rotateRefresh = g.wait
    const pending = c.host.refresh(s.refresh, 'peerA')
    await until(() => c.store.reached.rotateRefresh)
    await c.host.removeClient(alice.address)
    g.open()
    await rejects(pending, 'SESSION_ENDED', 401)
    expect(await c.store.getSession(s.id)).toBeUndefined()
    await rejects(c.host.authenticate(s.access, 'peerA'), 'SESSION_ENDED', 401)
  })

  it('binds refresh to the peer too; a same-origin session (peer "") is refused to every libp2p caller', async () => {
    const c = await cafe()
    const s = await register(c, alice, (await c.host.createToken()).token, 'peerA')
    await rejects(c.host.refresh(s.refresh, 'peerB'), 'PEER_MISMATCH', 403)
    expect((await c.host.refresh(s.refresh, 'peerA')).id).toBe(s.id) // the refused attempt spent nothing
    const local = await register(c, alice, (await c.host.createToken()).token, '')
    expect((await c.host.authenticate(local.access)).peerId).toBe('')
    await rejects(c.host.authenticate(local.access, 'peerA'), 'PEER_MISMATCH', 403)
  })

  it('closed for new clients: a new account is refused and its token stays unused; a registered account still registers and refreshes', async () => {
    const c = await cafe()
    const bob = accountFromMnemonic(newMnemonic())
    const s = await register(c, alice, (await c.host.createToken()).token)
    const { id, token } = await c.host.createToken()
    await c.host.setSettings({ open: false })
    await rejects(register(c, bob, token), 'REGISTRATION_CLOSED', 403)
    expect((await c.host.listTokens()).find(t => t.id === id)?.usedBy).toBeUndefined()
    expect((await c.host.listClients()).map(x => x.address)).toEqual([alice.address])
    expect((await c.host.refresh(s.refresh, 'peerA')).address).toBe(alice.address)
    // Alice on a second device (a new peer) with her own token: she is already a client.
    const again = await register(c, alice, (await c.host.createToken()).token, 'peerB')
    expect((await c.host.authenticate(again.access, 'peerB')).address).toBe(alice.address)
    await c.host.setSettings({ open: true })
    expect((await register(c, bob, token)).address).toBe(bob.address)
  })

  it('writes lastSeen at most once a minute per client', async () => {
    const c = await cafe()
    const s = await register(c, alice, (await c.host.createToken()).token)
    const seen = async (): Promise<string> => (await c.host.listClients())[0].lastSeen
    const t0 = await seen()
    c.clock.ms += 1000
    await c.host.authenticate(s.access, 'peerA')
    const t1 = await seen()
    expect(t1 > t0).toBe(true)
    c.clock.ms += 30_000
    await c.host.authenticate(s.access, 'peerA')
    expect(await seen()).toBe(t1)
    c.clock.ms += 31_000
    await c.host.authenticate(s.access, 'peerA')
    expect(await seen()).toBe(new Date(c.clock.ms).toISOString())
  })
})
