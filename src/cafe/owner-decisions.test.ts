import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import * as raw from 'multiformats/codecs/raw'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { MemoryBlockstore } from 'blockstore-core/memory'
import { IDBDatastore } from 'datastore-idb'
import { describe, expect, it, vi } from 'vitest'
import { accountFromMnemonic, newMnemonic, registrationMessage } from '../account/index.ts'
import { blocksOf } from '../ipfs/blocks.ts'
import { exportCar } from '../ipfs/car.ts'
import { toBase64url } from '../shared/bytes.ts'
import { backupUsage } from './backup-api.ts'
import { DatastoreCafeStore } from './datastore/cafe-store.ts'
import { CafeHost } from './host.ts'
import { PinService } from './pins/pin-service.ts'
import { MemoryPinStore } from './pins/pin-store.ts'
import { MemorySnapshotStore, Snapshots } from './snapshots.ts'
import { MemoryCafeStore } from './store.ts'
import { parsePinObject } from './pins/pin-service.ts'
import type { CafeStore } from './store.ts'
import 'fake-indexeddb/auto'
import type { Account } from '../account/index.ts'
import type { Session } from './host.ts'

let dbs = 0
const stores: Record<string, () => Promise<CafeStore>> = {
  memory: async () => new MemoryCafeStore(),
  // datastore-idb on IndexedDB (fake-indexeddb in Node): the same rules hold in the store the page uses.
  indexeddb: async () => { const ds = new IDBDatastore(`owner-decisions-${++dbs}`); await ds.open(); return new DatastoreCafeStore(ds) }
}

async function cafe (kind = 'memory'): Promise<{ host: CafeHost, peerId: string }> {
  const key = await generateKeyPair('Ed25519')
  const peerId = peerIdFromPrivateKey(key).toString()
  return { host: new CafeHost({ peerId, privateKeyRaw: key.raw, store: await stores[kind]() }), peerId }
}

async function register (host: CafeHost, cafeId: string, who: Account, token: string): Promise<Session> {
  const { nonce } = host.challenge(who.address)
  const sig = toBase64url(who.sign(registrationMessage(cafeId, who.address, nonce)))
  return host.register({ address: who.address, token, nonce, sig }, 'peerA')
}

describe.each(Object.keys(stores))('owner decisions stick (%s store)', kind => {
  it('a client\'s quota survives its re-registration, and its leaving and coming back', async () => {
    const { host, peerId } = await cafe(kind)
    const alice = accountFromMnemonic(newMnemonic())
    const { token } = await host.createToken()
    const s = await register(host, peerId, alice, token)
    await host.setClientQuota(alice.address, 5 * 2 ** 20)
    await register(host, peerId, alice, token)
    expect(await host.quotaOf(alice.address)).toBe(5 * 2 ** 20)
    expect((await host.listClients())[0].quota).toBe(5 * 2 ** 20)
    // Leaving and registering again does not reset what the owner set.
    await host.deregister(s.access, 'peerA')
    await register(host, peerId, alice, token)
    expect(await host.quotaOf(alice.address)).toBe(5 * 2 ** 20)
  })

  it('a removed client stays out with its old token (CLIENT_REMOVED) until the owner invites it again', async () => {
    const { host, peerId } = await cafe(kind)
    const alice = accountFromMnemonic(newMnemonic())
    const { token } = await host.createToken()
    await register(host, peerId, alice, token)
    await host.removeClient(alice.address)
    await expect(register(host, peerId, alice, token)).rejects.toMatchObject({ reason: 'CLIENT_REMOVED', status: 403 })
    expect(await host.listClients()).toEqual([])
    const again = await register(host, peerId, alice, (await host.createToken()).token)
    expect((await host.authenticate(again.access, 'peerA')).address).toBe(alice.address)
  })
})

describe('owner decisions stick: removal and work in flight', () => {

  it('removing a client aborts its upload in flight: no pin, no bytes, no record left', async () => {
    const { host, peerId } = await cafe()
    const alice = accountFromMnemonic(newMnemonic())
    await register(host, peerId, alice, (await host.createToken()).token)
    const blocks = blocksOf(new MemoryBlockstore())
    const store = new MemoryPinStore()
    const pins = new PinService({ blocks, store, quota: async a => host.quotaOf(a) })
    host.useService(backupUsage(pins, new Snapshots(new MemorySnapshotStore())))

    const bytes = new TextEncoder().encode('uploaded while the owner removes its client')
    const cid = CID.createV1(raw.code, await sha256.digest(bytes))
    let open = (): void => {}
    const gate = new Promise<void>(resolve => { open = resolve })
    let sent = 0
    async function * slow (): AsyncGenerator<Uint8Array> {
      for await (const c of exportCar(cid, async () => bytes)) {
        if (++sent === 2) await gate // the upload is mid-way when the removal lands
        yield c
      }
    }
    const upload = pins.upload({ address: alice.address, peerId: 'peerA' }, slow())
    const settled = upload.then(() => 'pinned', (e: { reason?: string }) => e.reason)
    await vi.waitFor(() => { expect(sent).toBe(2) }, { timeout: 5_000, interval: 1 })
    const removal = host.removeClient(alice.address)
    open()
    await removal
    expect(await settled).toBe('CLIENT_REMOVED')
    expect(await store.all()).toEqual([])
    expect(await store.batches()).toEqual([]) // nor an unfinished upload to resume
    expect(pins.usage(alice.address)).toEqual({ bytes: 0, pins: 0, lost: 0 })
    let left = 0
    for await (const _ of blocks.keys()) left++
    expect(left).toBe(0)
  })

  it('removing a client aborts its pulls: the fetch is cancelled and the pin is gone', async () => {
    const { host, peerId } = await cafe()
    const alice = accountFromMnemonic(newMnemonic())
    await register(host, peerId, alice, (await host.createToken()).token)
    let fetching: AbortSignal | undefined
    const store = new MemoryPinStore()
    const pins = new PinService({
      blocks: blocksOf(new MemoryBlockstore()),
      store,
      quota: async a => host.quotaOf(a),
      fetchCar: async (_src, _cid, { signal }) => { fetching = signal; return new Promise(() => {}) } // a peer that never answers
    })
    host.useService(backupUsage(pins, new Snapshots(new MemorySnapshotStore())))
    const cid = CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode('pulled when removed')))
    const p = await pins.create({ address: alice.address, peerId: 'peerA' }, parsePinObject({ cid: cid.toString() }))
    await expect.poll(() => fetching != null).toBe(true)
    await host.removeClient(alice.address)
    expect(fetching?.aborted).toBe(true)
    await expect(pins.get(alice.address, p.requestid)).rejects.toMatchObject({ reason: 'PIN_NOT_FOUND' })
    expect(await store.all()).toEqual([])
  })
})
