import { loadOrCreateSelfKey } from '@libp2p/config'
import { privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { ed25519 } from '@noble/curves/ed25519.js'
import { MemoryDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import { describe, expect, it } from 'vitest'
import { loadOrCreatePeerKey } from './peer-key.ts'

describe('loadOrCreatePeerKey', () => {
  it('makes an Ed25519 key whose halves match, stored where and how @libp2p/config reads it', async () => {
    const datastore = new MemoryDatastore()
    const key = await loadOrCreatePeerKey(datastore)
    expect(key.type).toBe('Ed25519')
    expect(key.raw).toHaveLength(64)
    expect(key.publicKey.raw).toEqual(ed25519.getPublicKey(key.raw.subarray(0, 32)))
    expect(key.raw.subarray(32)).toEqual(key.publicKey.raw)
    expect(await datastore.has(new Key('/pkcs8/self'))).toBe(true)
    // libp2p's own loader reads the same key back, byte for byte.
    const read = await loadOrCreateSelfKey(datastore)
    expect(privateKeyToProtobuf(read)).toEqual(privateKeyToProtobuf(key))
    expect(peerIdFromPrivateKey(read).toString()).toBe(peerIdFromPrivateKey(key).toString())
    // And it signs what its public key verifies.
    const message = Uint8Array.of(9, 8, 7)
    expect(await key.publicKey.verify(message, await key.sign(message))).toBe(true)
  })

  it('keeps a key written by libp2p’s loader, and its own across loads', async () => {
    const datastore = new MemoryDatastore()
    const theirs = await loadOrCreateSelfKey(datastore)
    expect((await loadOrCreatePeerKey(datastore)).equals(theirs)).toBe(true)
    const other = new MemoryDatastore()
    const ours = await loadOrCreatePeerKey(other)
    expect((await loadOrCreatePeerKey(other)).equals(ours)).toBe(true)
    expect(ours.equals(theirs)).toBe(false)
  })
})
