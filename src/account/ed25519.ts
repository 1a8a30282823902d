import { ed25519 } from '@noble/curves/ed25519.js'

/**
 * Ed25519 verification under one strict rule (RFC 8032 §5.1.7 with strict decoding), done by
 * the platform's WebCrypto where it has Ed25519 (Chromium, Node, Firefox) and by @noble/curves
 * elsewhere. The rule is checked here, in front of either, so both accept exactly the same:
 *
 * - S < L (a non-canonical S would make a second valid signature from any valid one);
 * - A and R encode y < p, and never x = 0 with the sign bit set (one encoding per point);
 * - A is not of small order (such a key "signs" many messages at once).
 *
 * WebCrypto checks the equation without the cofactor, noble with it; the two differ only for
 * keys or R with a small-order component, which no honest signer produces.
 */

const P = 2n ** 255n - 19n
const L = 2n ** 252n + 27742317777372353535851937790883648493n

function littleEndian (bytes: Uint8Array): bigint {
  let n = 0n
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i])
  return n
}

/** One encoding per point: y < p, and x = 0 (y = ±1) never with the sign bit. */
function canonicalPoint (bytes: Uint8Array): boolean {
  const sign = bytes[31] >> 7
  const y = littleEndian(bytes) & ((1n << 255n) - 1n)
  if (y >= P) return false
  return !(sign === 1 && (y === 1n || y === P - 1n))
}

/** Keys seen recently: a sender's key is checked (decoded, its order tested) once, not per message. */
const SMALL_ORDER_CACHE_MAX = 4096
const smallOrder = new Map<string, boolean>()

function keyId (publicKey: Uint8Array): string { return String.fromCharCode(...publicKey) }

function isSmallOrderKey (publicKey: Uint8Array): boolean {
  const id = keyId(publicKey)
  let small = smallOrder.get(id)
  if (small == null) {
    try { small = ed25519.Point.fromBytes(publicKey, false).isSmallOrder() } catch { small = true }
    if (smallOrder.size >= SMALL_ORDER_CACHE_MAX) smallOrder.clear()
    smallOrder.set(id, small)
  }
  return small
}

/** The checks both paths share; true when the signature may go on to the equation. */
export function strictlyEncoded (publicKey: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false
  if (littleEndian(signature.subarray(32)) >= L) return false
  if (!canonicalPoint(publicKey) || !canonicalPoint(signature.subarray(0, 32))) return false
  return !isSmallOrderKey(publicKey)
}

type Buf = Uint8Array<ArrayBuffer>
const buf = (b: Uint8Array): Buf => (b.buffer instanceof ArrayBuffer ? b : new Uint8Array(b)) as Buf

const subtle: SubtleCrypto | undefined = globalThis.crypto?.subtle

const hex = (s: string): Buf => Uint8Array.from(s.match(/../g)!, b => parseInt(b, 16)) as Buf
/** RFC 8032 §7.1 test 1 (empty message): a known signature, so the probe costs noble nothing (its first multiplication builds a ~100 ms table). */
const PROBE_KEY = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a'
const PROBE_SIGNATURE = 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'

/** Whether this platform's WebCrypto verifies Ed25519 (tried once, on RFC 8032's first vector). */
let native: Promise<boolean> | undefined
async function hasNativeEd25519 (): Promise<boolean> {
  native ??= (async () => {
    if (subtle == null) return false
    try {
      const message = new Uint8Array(0)
      const key = await subtle.importKey('raw', hex(PROBE_KEY), { name: 'Ed25519' }, false, ['verify'])
      const good = await subtle.verify({ name: 'Ed25519' }, key, hex(PROBE_SIGNATURE), message)
      const bad = await subtle.verify({ name: 'Ed25519' }, key, new Uint8Array(64), message)
      return good && !bad
    } catch {
      return false
    }
  })()
  return native
}

/** Imported verify keys, by public key: importing is a round trip into the platform per call. */
const KEY_CACHE_MAX = 1024
const keys = new Map<string, Promise<CryptoKey>>()

async function verifyKey (publicKey: Uint8Array): Promise<CryptoKey> {
  const id = keyId(publicKey)
  let key = keys.get(id)
  if (key == null) {
    key = subtle!.importKey('raw', buf(publicKey), { name: 'Ed25519' }, false, ['verify'])
    if (keys.size >= KEY_CACHE_MAX) keys.clear()
    keys.set(id, key)
    key.catch(() => { keys.delete(id) })
  }
  return key
}

/** True only for a valid, strictly encoded Ed25519 signature. Never throws on bad input. */
export async function verifyEd25519 (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
  try {
    if (!strictlyEncoded(publicKey, signature)) return false
    if (await hasNativeEd25519()) return await subtle!.verify({ name: 'Ed25519' }, await verifyKey(publicKey), buf(signature), buf(message))
    return ed25519.verify(signature, message, publicKey, { zip215: false })
  } catch {
    return false
  }
}

/** The same rule, synchronously and in JavaScript: for callers that cannot wait (one signature, not a stream of them). */
export function verifyEd25519Sync (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    return strictlyEncoded(publicKey, signature) && ed25519.verify(signature, message, publicKey, { zip215: false })
  } catch {
    return false
  }
}

/** Which path verifyEd25519 takes here: for the bench and the tests. */
export async function ed25519Backend (): Promise<'webcrypto' | 'noble'> { return (await hasNativeEd25519()) ? 'webcrypto' : 'noble' }

/** For tests: forget the probe so the next call tries again (or, with `force`, takes that path). */
export function resetEd25519Backend (force?: boolean): void { native = force == null ? undefined : Promise.resolve(force) }
