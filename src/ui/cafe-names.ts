import { CafeApi } from '../client/cafe-api.ts'
import type { RunningPeer } from '../peer/index.ts'

/**
 * The names of this device's cafes, as each cafe gives it (`GET /cafe/v1/info`), kept in
 * localStorage so "My cafes" speaks of "Tablet Cafe" rather than a peer id.
 */

const KEY = 'lightcafe.cafe-names'
/** The whole of an /info answer, head and body. */
const INFO_MS = 20_000
/** A cafe's own limit on its name; more from a peer is cut. */
const MAX_NAME = 64

function all (): Record<string, string> {
  try {
    const v: unknown = JSON.parse(localStorage.getItem(KEY) ?? '{}')
    return v != null && typeof v === 'object' ? v as Record<string, string> : {}
  } catch { return {} }
}

export function knownName (cafe: string): string | undefined {
  const n = all()[cafe]
  return typeof n === 'string' && n !== '' ? n : undefined
}

/** Asks the cafe its name (once it answers, it is remembered); undefined if it does not answer. */
export async function fetchName (peer: RunningPeer, cafe: string): Promise<string | undefined> {
  try {
    const signal = AbortSignal.timeout(INFO_MS)
    // Any peer named in an invitation can answer: the API reads no more than an answer can hold.
    const info: { name?: unknown } = await new CafeApi(async (path, init) => peer.rawCafeFetch(cafe, new Request(`http://cafe${path}`, { ...init, signal })), cafe).info({ signal })
    const name = typeof info.name === 'string' ? info.name.trim().slice(0, MAX_NAME) : ''
    if (name === '') return undefined
    try { localStorage.setItem(KEY, JSON.stringify({ ...all(), [cafe]: name })) } catch {}
    return name
  } catch { return undefined }
}
