import * as dagPb from '@ipld/dag-pb'
import { Configuration, RemotePinningServiceClient, Status } from '@ipfs-shipyard/pinning-service-client'
import { MemoryBlockstore } from 'blockstore-core/memory'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { describe, expect, it } from 'vitest'
import { accountFromMnemonic, newMnemonic, registrationMessage } from '../../account/index.ts'
import { blocksOf } from '../../ipfs/blocks.ts'
import { exportCar } from '../../ipfs/car.ts'
import { toBase64url } from '../../shared/bytes.ts'
import { createCafeApp } from '../app.ts'
import { backupUsage } from '../backup-api.ts'
import { MemorySnapshotStore, Snapshots } from '../snapshots.ts'
import { PinService } from './pin-service.ts'
import { MemoryPinStore } from './pin-store.ts'
import { testCafeHost } from '../../../test/fixtures/cafe-host.ts'

// The IPFS Pinning Service API driven by the client generated from the spec's OpenAPI file
// (@ipfs-shipyard/pinning-service-client), against the cafe's Hono app.
describe('a standard pinning-service client against the cafe', () => {
  it('creates, lists with filters, gets, replaces and deletes pins; a foreign session sees none', async () => {
    const { cafeId, host } = await testCafeHost()

    // The "origin": another node holding a two-block DAG, reachable by the cafe's fetcher.
    const leaf = new TextEncoder().encode('pinned through a standard client')
    const leafCid = CID.createV1(raw.code, await sha256.digest(leaf))
    const rootBytes = dagPb.encode(dagPb.prepare({ Links: [{ Hash: leafCid, Name: 'f', Tsize: leaf.length }] }))
    const rootCid = CID.createV1(dagPb.code, await sha256.digest(rootBytes))
    const origin = new Map([[rootCid.toString(), rootBytes], [leafCid.toString(), leaf]])
    const originAddr = `/ip4/127.0.0.1/tcp/4001/p2p/${cafeId}`

    const pins = new PinService({
      blocks: blocksOf(new MemoryBlockstore()),
      store: new MemoryPinStore(),
      quota: async a => host.quotaOf(a),
      delegates: () => [`/ip4/127.0.0.1/tcp/1/p2p/${cafeId}`],
      fetchCar: async (src, cid) => {
        if (src.addrs[0] !== originAddr) throw new Error('unreachable')
        return exportCar(cid, async c => origin.get(c.toString()))
      }
    })
    const snapshots = new Snapshots(new MemorySnapshotStore())
    host.useService(backupUsage(pins, snapshots))
    const app = createCafeApp(host, { services: { pins, snapshots } })

    const session = async (): Promise<string> => {
      const account = accountFromMnemonic(newMnemonic())
      const { token } = await host.createToken()
      const { nonce } = host.challenge(account.address)
      const sig = toBase64url(account.sign(registrationMessage(cafeId, account.address, nonce)))
      return (await host.register({ address: account.address, token, nonce, sig }, '')).access
    }
    const clientFor = (accessToken: string): RemotePinningServiceClient => new RemotePinningServiceClient(new Configuration({
      endpointUrl: 'http://cafe.test/cafe/v1',
      accessToken,
      fetchApi: async (url: string, init?: RequestInit) => app.fetch(new Request(url, init), {})
    }))
    const alice = clientFor(await session())
    const mallory = clientFor(await session())

    const created = await alice.pinsPost({ pin: { cid: rootCid.toString(), name: 'backup-1', origins: [originAddr], meta: { app: 'lightcafe-test' } } })
    expect(['queued', 'pinning']).toContain(created.status)
    expect(created.delegates.length).toBeGreaterThan(0)
    await expect.poll(async () => (await alice.pinsRequestidGet({ requestid: created.requestid })).status).toBe(Status.Pinned)

    const listed = await alice.pinsGet({ status: [Status.Pinned], name: 'BACKUP', match: 'ipartial' as any, meta: { app: 'lightcafe-test' } })
    expect(listed.count).toBe(1)
    expect([...listed.results][0].pin.cid).toBe(rootCid.toString())
    expect((await alice.pinsGet({ cid: [leafCid.toString()] })).count).toBe(0)

    // Another client cannot see, read or delete it.
    expect((await mallory.pinsGet({})).count).toBe(0)
    await expect(mallory.pinsRequestidGet({ requestid: created.requestid })).rejects.toMatchObject({ status: 404 })
    await expect(mallory.pinsRequestidDelete({ requestid: created.requestid })).rejects.toMatchObject({ status: 404 })

    // Replace with the leaf alone: the old pin goes once the new one is pinned.
    const replaced = await alice.pinsRequestidPost({ requestid: created.requestid, pin: { cid: leafCid.toString(), origins: [originAddr] } })
    await expect.poll(async () => (await alice.pinsRequestidGet({ requestid: replaced.requestid })).status).toBe(Status.Pinned)
    await expect(alice.pinsRequestidGet({ requestid: created.requestid })).rejects.toMatchObject({ status: 404 })
    expect((await host.listClients()).map(c => c.bytes).sort()).toEqual([0, leaf.length])

    await alice.pinsRequestidDelete({ requestid: replaced.requestid })
    expect((await alice.pinsGet({})).count).toBe(0)
    expect((await host.listClients()).map(c => c.bytes)).toEqual([0, 0])

    // The compliance suite's two checks. A named pin nobody can supply ends failed; a name
    // filter (any match) without a status finds it; no filter lists only pinned ones.
    const name = 'c0ffee42-compliance-name'
    const lost = CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode('nobody has this')))
    const named = await alice.pinsPost({ pin: { cid: lost.toString(), name } })
    await expect.poll(async () => (await alice.pinsRequestidGet({ requestid: named.requestid })).status).toBe(Status.Failed)
    for (const [text, match] of [[name, 'exact'], [name.toUpperCase(), 'iexact'], [name.slice(5, 20), 'partial'], [name.slice(5, 20).toUpperCase(), 'ipartial']]) {
      expect((await alice.pinsGet({ name: text, match: match as any })).count, `${match} ${text}`).toBe(1)
    }
    expect((await alice.pinsGet({})).count).toBe(0)
    // Replace answers with a new requestid, and the old one is gone at once (not when the new one is pinned).
    const swapped = await alice.pinsRequestidPost({ requestid: named.requestid, pin: { cid: leafCid.toString(), origins: [originAddr] } })
    expect(swapped.requestid).not.toBe(named.requestid)
    await expect(alice.pinsRequestidGet({ requestid: named.requestid })).rejects.toMatchObject({ status: 404 })
    expect((await alice.pinsRequestidGet({ requestid: swapped.requestid })).pin.cid).toBe(leafCid.toString())
  })
})
