// A test fixture (imported by unit tests only): a cafe host with a fresh key, in cafe mode.
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { CafeHost } from './host.ts'
import { MemoryCafeStore } from './store.ts'
import type { CafeSettings, CafeStore } from './store.ts'

export interface TestCafeHost {
  cafeId: string
  host: CafeHost
  /** The key's `.raw`: a second host over the same store (a restart) signs as this one. */
  privateKeyRaw: Uint8Array
}

/**
 * A CafeHost on a new Ed25519 key over `store` (default: in memory), with `settings` applied
 * (default: `{ enabled: true }`; pass `null` to leave the store's settings as they are).
 */
export async function testCafeHost (init: { store?: CafeStore, now?: () => number, settings?: Partial<CafeSettings> | null } = {}): Promise<TestCafeHost> {
  const key = await generateKeyPair('Ed25519')
  const cafeId = peerIdFromPrivateKey(key).toString()
  const host = new CafeHost({ peerId: cafeId, privateKeyRaw: key.raw, store: init.store ?? new MemoryCafeStore(), now: init.now })
  const settings = init.settings === undefined ? { enabled: true } : init.settings
  if (settings != null) await host.setSettings(settings)
  return { cafeId, host, privateKeyRaw: key.raw }
}
