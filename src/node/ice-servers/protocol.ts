import { jsonMessages } from '../json-messages.ts'
import type { JsonMessages } from '../json-messages.ts'
import type { Stream } from '@libp2p/interface'

/**
 * ICE servers (STUN/TURN) for WebRTC, as a relay or `/relays.json` gives them to pages. TURN
 * credentials are coturn's time-limited shared-secret ones (username `<expiry>:<id>`), so a
 * page holds each for a while and asks again before `expiresAt`.
 */
export const ICE_PROTOCOL = '/lightcafe/ice-servers/1.0.0'

export const ICE_LIMITS = {
  /** One answer: a few servers with their URLs. */
  maxMessageBytes: 16 * 1024,
  maxServers: 8,
  maxUrlsPerServer: 8,
  maxUrlChars: 256,
  maxFieldChars: 512,
  timeoutMs: 5_000,
  /** Asked again when this close to a credential's expiry (and at least this often while none expire). */
  refreshBeforeMs: 10 * 60_000
} as const

/** One ICE server as RTCIceServer takes it, and when its credential stops working (ms since epoch). */
export interface IceServerEntry { urls: string[], username?: string, credential?: string, expiresAt?: number }

const URL_SCHEME = /^(stun|stuns|turn|turns):[^\s]+$/

/** The ICE servers in an answer or a relays.json body, bounded and well-formed; anything else is dropped. */
export function iceServersOf (value: unknown): IceServerEntry[] {
  if (!Array.isArray(value)) return []
  const out: IceServerEntry[] = []
  for (const raw of value.slice(0, ICE_LIMITS.maxServers)) {
    if (raw == null || typeof raw !== 'object') continue
    const s = raw as Record<string, unknown>
    const list = (typeof s.urls === 'string' ? [s.urls] : Array.isArray(s.urls) ? s.urls : [])
      .filter((u): u is string => typeof u === 'string' && u.length <= ICE_LIMITS.maxUrlChars && URL_SCHEME.test(u))
      .slice(0, ICE_LIMITS.maxUrlsPerServer)
    if (list.length === 0) continue
    const text = (v: unknown): string | undefined => typeof v === 'string' && v.length <= ICE_LIMITS.maxFieldChars ? v : undefined
    const username = text(s.username)
    const credential = text(s.credential)
    // TURN needs both; a STUN-only entry carries neither.
    if (list.some(u => u.startsWith('turn')) && (username == null || credential == null)) continue
    const expiresAt = typeof s.expiresAt === 'number' && Number.isFinite(s.expiresAt) ? s.expiresAt : undefined
    out.push({ urls: list, ...(username != null ? { username } : {}), ...(credential != null ? { credential } : {}), ...(expiresAt != null ? { expiresAt } : {}) })
  }
  return out
}

/** One JSON message each way on a stream, each within ICE_LIMITS.maxMessageBytes. */
export function messages (stream: Stream): JsonMessages { return jsonMessages(stream, ICE_LIMITS.maxMessageBytes) }
