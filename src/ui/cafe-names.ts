import { REMOTE_BODY_LIMITS, readJson } from '../shared/streams.ts'
import type { RunningPeer } from './peer.ts'

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
    const res = await peer.rawCafeFetch(cafe, new Request('http://cafe/cafe/v1/info', { signal }))
    if (!res.ok) { await res.body?.cancel(); return undefined }
    // Any peer named in an invitation can answer: read no more than an answer can hold.
    const info = await readJson(res, { maxBytes: REMOTE_BODY_LIMITS.infoBytes, signal, what: `the info of cafe ${cafe}` }) as { name?: unknown }
    const name = typeof info.name === 'string' ? info.name.trim().slice(0, MAX_NAME) : ''
    if (name === '') return undefined
    try { localStorage.setItem(KEY, JSON.stringify({ ...all(), [cafe]: name })) } catch {}
    return name
  } catch { return undefined }
}
