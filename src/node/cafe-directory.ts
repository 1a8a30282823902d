import { lpStream } from '@libp2p/utils'
import type { Libp2p, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * How cafes find each other: each relay keeps a small directory of the cafes connected to it.
 * A cafe announces itself (its peer id is the one Noise authenticated, so nobody can announce
 * another) and refreshes before the entry expires; anyone may list. One JSON request and one
 * JSON answer per stream.
 */
export const DIRECTORY_PROTOCOL = '/lightcafe/cafes/1.0.0'

export const DIRECTORY_LIMITS = {
  /** An entry lives this long unless refreshed: a cafe that went away drops out by itself. */
  ttlMs: 3 * 60_000,
  /** Cafes refresh this often. */
  announceEveryMs: 60_000,
  /**
   * Entries a relay keeps. When full a new cafe is refused (DIRECTORY_FULL) until one expires,
   * leaves or disconnects: entries already there, refreshed ones above all, are never pushed
   * out by newcomers, so minting peer ids cannot evict real cafes.
   */
  maxEntries: 1000,
  maxMessageBytes: 64 * 1024,
  timeoutMs: 5_000
} as const

export interface DirectoryOptions {
  now?: () => number
  maxEntries?: number
}

/** An entry: one per authenticated peer (Noise proved it), so a connection can only ever announce itself. */
interface Entry { peer: string, since: number, expires: number }

/**
 * The relay's side: serves the directory on its libp2p node. Entries go when they expire or
 * their cafe disconnects. Lists give the longest-listed cafes first (a refresh keeps a cafe's
 * place), so whoever takes only the first few takes established cafes, not newcomers.
 */
export async function serveCafeDirectory (libp2p: Libp2p, opts: DirectoryOptions = {}): Promise<void> {
  const now = opts.now ?? Date.now
  const maxEntries = opts.maxEntries ?? DIRECTORY_LIMITS.maxEntries
  // Insertion order = first announce: the oldest entries come first.
  const entries = new Map<string, Entry>()
  libp2p.addEventListener('peer:disconnect', (e) => { entries.delete(e.detail.toString()) })
  await libp2p.handle(DIRECTORY_PROTOCOL, async (stream, connection) => {
    const lp = lpStream(stream, { maxDataLength: DIRECTORY_LIMITS.maxMessageBytes })
    const signal = AbortSignal.timeout(DIRECTORY_LIMITS.timeoutMs)
    try {
      const req = JSON.parse(new TextDecoder().decode((await lp.read({ signal })).subarray())) as { op?: unknown }
      const peer = connection.remotePeer.toString()
      const t = now()
      for (const [k, e] of entries) if (e.expires <= t) entries.delete(k)
      let answer: unknown
      if (req.op === 'announce') {
        const held = entries.get(peer)
        if (held != null) {
          held.expires = t + DIRECTORY_LIMITS.ttlMs
          answer = { ok: true, ttlMs: DIRECTORY_LIMITS.ttlMs }
        } else if (entries.size >= maxEntries) {
          answer = { error: 'DIRECTORY_FULL', retryMs: DIRECTORY_LIMITS.announceEveryMs }
        } else {
          entries.set(peer, { peer, since: t, expires: t + DIRECTORY_LIMITS.ttlMs })
          answer = { ok: true, ttlMs: DIRECTORY_LIMITS.ttlMs }
        }
      } else if (req.op === 'leave') {
        entries.delete(peer)
        answer = { ok: true }
      } else if (req.op === 'list') {
        // Only cafes still connected to this relay: a closed tab is not worth a dial.
        const connected = new Set(libp2p.getConnections().filter(c => c.status === 'open').map(c => c.remotePeer.toString()))
        answer = { cafes: [...entries.keys()].filter(p => connected.has(p)) }
      } else {
        answer = { error: 'UNKNOWN_OP' }
      }
      await lp.write(new TextEncoder().encode(JSON.stringify(answer)), { signal })
      await stream.close()
    } catch (err) {
      stream.abort(err as Error)
    }
  }, { runOnLimitedConnection: true })
}

async function ask (libp2p: Libp2p, relay: PeerId | Multiaddr, op: string, signal?: AbortSignal): Promise<Record<string, unknown>> {
  const s = signal ?? AbortSignal.timeout(DIRECTORY_LIMITS.timeoutMs)
  const stream = await libp2p.dialProtocol(relay, DIRECTORY_PROTOCOL, { signal: s })
  const lp = lpStream(stream, { maxDataLength: DIRECTORY_LIMITS.maxMessageBytes })
  await lp.write(new TextEncoder().encode(JSON.stringify({ op })), { signal: s })
  const answer = JSON.parse(new TextDecoder().decode((await lp.read({ signal: s })).subarray())) as Record<string, unknown>
  await stream.close().catch(() => {})
  return answer
}

/** Announces this peer as a cafe on one relay; the relay's answer (`{ok, ttlMs}`, or `{error: 'DIRECTORY_FULL'}`). */
export async function announceTo (libp2p: Libp2p, relay: PeerId | Multiaddr, signal?: AbortSignal): Promise<Record<string, unknown>> {
  return ask(libp2p, relay, 'announce', signal)
}

/** Lists the cafes a relay knows (peer ids), the longest listed first. */
export async function listCafes (libp2p: Libp2p, relay: PeerId | Multiaddr, signal?: AbortSignal): Promise<string[]> {
  const answer = await ask(libp2p, relay, 'list', signal)
  return Array.isArray(answer.cafes) ? answer.cafes.filter((c): c is string => typeof c === 'string').slice(0, DIRECTORY_LIMITS.maxEntries) : []
}

/** Keeps this cafe announced on its relays while cafe mode is on. */
export class DirectoryAnnouncer {
  readonly #libp2p: Libp2p
  readonly #relays: () => Multiaddr[]
  #timer: ReturnType<typeof setInterval> | undefined

  constructor (libp2p: Libp2p, relays: () => Multiaddr[]) {
    this.#libp2p = libp2p
    this.#relays = relays
  }

  async #all (op: string): Promise<void> {
    await Promise.allSettled(this.#relays().map(async r => ask(this.#libp2p, r, op)))
  }

  /** Starts (or stops) announcing; safe to call on every settings change. */
  set (on: boolean): void {
    if (on && this.#timer == null) {
      void this.#all('announce')
      this.#timer = setInterval(() => { void this.#all('announce') }, DIRECTORY_LIMITS.announceEveryMs)
    } else if (!on && this.#timer != null) {
      clearInterval(this.#timer)
      this.#timer = undefined
      void this.#all('leave')
    }
  }

  /** Announces now (after a relay came back, its directory is empty). */
  refresh (): void { if (this.#timer != null) void this.#all('announce') }

  stop (): void { if (this.#timer != null) clearInterval(this.#timer); this.#timer = undefined }
}
