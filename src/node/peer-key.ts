import { loadOrCreateSelfKey } from '@libp2p/config'
import { privateKeyFromRaw } from '@libp2p/crypto/keys'
import { keychain } from '@libp2p/keychain'
import { defaultLogger } from '@libp2p/logger'
import { Key } from 'interface-datastore'
import { generateEd25519 } from '../account/ed25519-keys.ts'
import type { PrivateKey } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'

/** Where @libp2p/config's keychain keeps the peer key ("self"). */
const SELF_KEY = new Key('/pkcs8/self')

/**
 * The peer key (Ed25519), persisted exactly as `loadOrCreateSelfKey` persists it (the same
 * keychain entry, so either reads what the other wrote), but a new one is made by WebCrypto
 * where it can: libp2p's own generation runs @noble/curves' first multiplication (76–93 ms of
 * a fresh profile's start here).
 */
export async function loadOrCreatePeerKey (datastore: Datastore): Promise<PrivateKey> {
  if (await datastore.has(SELF_KEY)) return loadOrCreateSelfKey(datastore)
  const { seed, publicKey } = await generateEd25519()
  // libp2p's Ed25519 private key is seed ‖ public key.
  const raw = new Uint8Array(64)
  raw.set(seed)
  raw.set(publicKey, 32)
  seed.fill(0)
  const key = privateKeyFromRaw(raw)
  await keychain()({ datastore, logger: defaultLogger() }).importKey('self', key)
  return key
}
