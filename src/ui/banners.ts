import { relayProblem } from './relay-problems.ts'
import type { RelayCause } from '../node/relay-cause.ts'
import type { RelayProblem } from './relay-problems.ts'

/** Past this share of its quota, the browser's storage is "nearly full". */
const NEARLY_FULL = 0.9

export interface Banner { kind: 'disconnected' | 'storage', text: string, problems?: RelayProblem[] }

type RelayLike = { multiaddr: string, connected: boolean, attempts?: number, cause?: RelayCause }

/**
 * Banners: cut off from every relay (with what is known of why), storage nearly full. Empty when
 * all is well. A node still on its first dial of every relay is connecting, not cut off: the
 * header says so, and a banner there would only push the view down and back at each start.
 */
export function banners (live: { info: { relays: RelayLike[] }, storage: { usage: number, quota: number } }, setup?: string): Banner[] {
  const out: Banner[] = []
  const { relays } = live.info
  const s = live.storage
  const failed = relays.some(r => (r.attempts ?? 0) > 0 || r.cause != null)
  if (relays.length > 0 && !relays.some(r => r.connected) && failed) {
    const problems = relays.flatMap(r => relayProblem(r, setup) ?? [])
    out.push({ kind: 'disconnected', text: 'Disconnected from the relays: reconnecting… Peers cannot reach this cafe until then.', ...(problems.length > 0 ? { problems } : {}) })
  }
  if (s.quota > 0 && s.usage / s.quota > NEARLY_FULL) out.push({ kind: 'storage', text: `Storage is nearly full: ${Math.round(s.usage / 2 ** 20)} of ${Math.round(s.quota / 2 ** 20)} MiB used.` })
  return out
}
