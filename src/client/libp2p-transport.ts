import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { DeadConnectionError } from '../node/http/index.ts'
import { backoff } from '../shared/backoff.ts'
import { causeOf } from '../shared/error-cause.ts'
import { PeerAbsentError, PeerUnreachableError, WebRtcUnavailableError } from '../node/errors.ts'
import type { CafeTransport } from './cafe-client.ts'
import type { HttpOverLibp2p } from '../node/http/index.ts'
import type { Wake } from '../shared/wake.ts'
import type { Connection } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** How long a peer no WebRTC pair could be made with is asked over the relay at once (then WebRTC is tried again). */
export const RELAYED_FOR_MS = 5 * 60_000

/**
 * Dial attempts before a cafe counts as unreachable: the first WebRTC dial of a fresh page can
 * lose a race with the cafe's relay reservation (NO_RESERVATION), and a retry then connects.
 */
export const DIAL_RETRY = { attempts: 3, firstDelayMs: 300 } as const

export { PeerAbsentError, PeerUnreachableError } from '../node/errors.ts'

/** How circuit relay v2 words its answer that the target holds no reservation or connection there. */
const NO_RESERVATION = /status NO_RESERVATION\b/

/** Whether a dial failed because the relay said the peer is not there (looked for through AggregateError and causes, a few levels deep). */
export function absentAtRelay (err: unknown, depth = 0): boolean {
  if (depth > 4 || err == null || typeof err !== 'object') return false
  if (err instanceof PeerAbsentError) return true
  const e = err as { message?: unknown, errors?: unknown, cause?: unknown }
  if (typeof e.message === 'string' && NO_RESERVATION.test(e.message)) return true
  if (Array.isArray(e.errors) && e.errors.some(x => absentAtRelay(x, depth + 1))) return true
  return absentAtRelay(e.cause, depth + 1)
}

/** Whatever libp2p rejected with, as an Error that says why (it may reject with an Event, or nothing). */
function named (err: unknown): Error {
  if (err instanceof Error && err.message !== '') return err
  return new PeerUnreachableError(causeOf(err), { cause: err })
}

const sleep = async (ms: number, signal: AbortSignal): Promise<void> => new Promise((resolve, reject) => {
  const t = setTimeout(resolve, ms)
  signal.addEventListener('abort', () => { clearTimeout(t); reject(signal.reason) }, { once: true })
})

/**
 * Reaches cafes over libp2p. A cafe known only by peer id is dialled through our own
 * relays (`<relay>/p2p-circuit/webrtc/p2p/<cafe>`): on a LAN, cafe and clients share them.
 * The WebRTC address makes libp2p signal through the relay and then talk directly.
 * Only the dial is retried, never a request whose body may already be sent. A peer that
 * could not be reached is awaited on `wake`: its return wakes whatever waits to retry.
 * Without WebRTC (`webrtc: false`) only the other addresses are dialled (a Node cafe's
 * WebSockets); a cafe with none is reached through its relay's circuit at once (the last
 * resort), and where that fails too the error is WEBRTC_UNAVAILABLE.
 */
export function libp2pTransport (http: HttpOverLibp2p, relays: () => Multiaddr[], wake?: Wake, { webrtc = true }: { webrtc?: boolean } = {}): CafeTransport {
  // Peers no WebRTC pair could be made with lately: asked over the relay at once, until then.
  const relayedUntil = new Map<string, number>()
  /** The last resort: the relay's limited circuit, where WebRTC cannot get through (UDP blocked, no TURN). */
  async function relayed (cafe: { id: string, addrs: string[] }, signal: AbortSignal): Promise<Connection> {
    const peer = peerIdFromString(cafe.id)
    const open = http.newestDirect(peer) ?? http.newestRelayed(peer)
    if (open != null) return open
    const circuits = cafe.addrs.length > 0
      ? cafe.addrs.filter(a => a.includes('/p2p-circuit/')).map(a => multiaddr(a.replace('/p2p-circuit/webrtc/', '/p2p-circuit/')))
      : relays().map(r => r.encapsulate(`/p2p-circuit/p2p/${cafe.id}`))
    if (circuits.length === 0) throw new PeerUnreachableError(`no WebRTC connection to ${cafe.id} could be made, and no relay is known to reach it through`)
    return http.relayedConnection(circuits, { signal })
  }
  async function connect (cafe: { id: string, addrs: string[] }, signal: AbortSignal, redialAbsent: boolean): Promise<Connection> {
    if ((relayedUntil.get(cafe.id) ?? 0) > Date.now()) {
      try { return await relayed(cafe, signal) } catch { relayedUntil.delete(cafe.id) }
    }
    const peer = peerIdFromString(cafe.id)
    const started = Date.now()
    const all = cafe.addrs.length > 0
      ? cafe.addrs.map(a => multiaddr(a))
      : relays().map(r => r.encapsulate(`/p2p-circuit/webrtc/p2p/${cafe.id}`))
    const targets = webrtc ? all : all.filter(a => !a.getComponents().some(c => c.name === 'webrtc'))
    // A peer that may simply be offline gets one dial: its inbox is the way on, not a retry.
    const attempts = redialAbsent ? DIAL_RETRY.attempts : 1
    for (let attempt = 1; ; attempt++) {
      const open = http.newestDirect(peer)
      if (open != null) return open
      if (targets.length === 0) {
        // No WebRTC here, and the peer has no other address: its relay's circuit is the way, at once.
        try {
          return await relayed(cafe, signal)
        } catch (err) {
          if (absentAtRelay(err)) { wake?.await(cafe.id, started); throw new PeerAbsentError(`${cafe.id} is not at its relay now (${causeOf(err)})`, { cause: err }) }
          throw new WebRtcUnavailableError(`${cafe.id} can be reached only over WebRTC, which this browser lacks (no RTCPeerConnection), or through its relay, which failed: ${causeOf(err)}`)
        }
      }
      try {
        return await http.directConnection(targets, { signal })
      } catch (err) {
        const last = attempt >= attempts || signal.aborted
        const absent = absentAtRelay(err)
        if ((absent && !redialAbsent) || last) wake?.await(cafe.id, started)
        if (absent && (last || !redialAbsent)) throw new PeerAbsentError(`${cafe.id} is not at its relay now (${causeOf(err)})`, { cause: err })
        if (last) {
          // The peer is at its relay, but no WebRTC pair forms: go through the relay. (Not after
          // the first timeout: a WebRTC dial now and then hangs and the next one connects, and
          // a relayed first connection left LAN devices on the relay; measured in docs/notes/networks.md.)
          if (signal.aborted) throw err
          const conn = await relayed(cafe, signal).catch(() => { throw err })
          if (conn.limits != null) relayedUntil.set(cafe.id, Date.now() + RELAYED_FOR_MS)
          return conn
        }
        await sleep(backoff(attempt - 1, { firstMs: DIAL_RETRY.firstDelayMs }), signal)
      }
    }
  }
  return async (cafe, request, options = {}) => {
    // Every caller gives a deadline; without one, fetch's own default.
    const signal = options.signal ?? AbortSignal.timeout(30_000)
    const redialAbsent = options.redialAbsent ?? true
    try {
      try {
        return await http.fetch(await connect(cafe, signal, redialAbsent), request, { signal })
      } catch (err) {
        // Nothing was sent on a dead connection (it is closed now): once more, on a fresh one.
        if (!(err instanceof DeadConnectionError)) throw err
        return await http.fetch(await connect(cafe, signal, redialAbsent), request, { signal })
      }
    } catch (err) {
      throw named(err)
    }
  }
}
