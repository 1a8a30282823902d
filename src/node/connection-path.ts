import type { Connection } from '@libp2p/interface'

/**
 * How a connection reaches its peer, as a person would ask it:
 * - `direct`: on the same network (WebRTC host candidates, or a WebSocket dialled straight);
 * - `nat`: straight between the two devices, through a NAT (a server- or peer-reflexive candidate);
 * - `turn`: WebRTC relayed by a TURN server;
 * - `relay`: carried by a libp2p circuit relay (a limited connection: the last resort).
 */
export type ConnectionPath = 'direct' | 'nat' | 'turn' | 'relay'

export interface PathInfo {
  path: ConnectionPath
  /** WebRTC only: the selected candidate pair's types, `local↔remote` (e.g. `srflx↔prflx`). */
  candidates?: string
}

type CandidateType = 'host' | 'srflx' | 'prflx' | 'relay'
export interface CandidateStats { candidateType?: CandidateType, address?: string, port?: number }

/** Private, shared (CGNAT) and link-local IPv4, and unique-local/link-local IPv6. */
function isPrivateAddress (address: string | undefined): boolean {
  if (address == null || address === '') return false
  const [a, b] = address.split('.').map(Number)
  if (address.includes('.')) return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254)
  return /^f[cd]|^fe[89ab]/i.test(address)
}

/**
 * What a peer-reflexive candidate really is. Chromium hides a remote prflx candidate's address,
 * and one appears whenever a check arrives before the candidate it came from was signalled
 * (or that candidate is an mDNS name): the signalled candidate with the same port is the one;
 * else a private address, or a side with no STUN (no srflx or relay candidate), means the LAN.
 * Unresolved, it is a mapping seen through NAT.
 */
function resolvedType (c: CandidateStats, sameSide: CandidateStats[]): CandidateType | undefined {
  if (c.candidateType !== 'prflx') return c.candidateType
  const signalled = sameSide.find(o => o.candidateType !== 'prflx' && o.port != null && o.port === c.port)
  if (signalled != null) return signalled.candidateType
  if (isPrivateAddress(c.address)) return 'host'
  // A side that signalled no server-reflexive or relay candidate has no STUN server, so it
  // learned no NAT mapping to be reached by: an address it did not signal is one of its own
  // (an mDNS-hidden host candidate this browser could not resolve), on this network.
  if ((c.address ?? '') === '' && !sameSide.some(o => o.candidateType === 'srflx' || o.candidateType === 'relay')) return 'host'
  return 'prflx'
}

/**
 * The path of a selected pair: TURN when either end is a relay candidate; through NAT when
 * either is server-reflexive or a peer-reflexive mapping; else on the same network.
 * `locals`/`remotes`: every candidate of each side, to resolve peer-reflexive ones.
 */
export function pathOfPair (local: CandidateStats, remote: CandidateStats, locals: CandidateStats[] = [], remotes: CandidateStats[] = []): ConnectionPath {
  const types = [resolvedType(local, locals), resolvedType(remote, remotes)]
  if (types.includes('relay')) return 'turn'
  if (types.includes('srflx') || types.includes('prflx')) return 'nat'
  return 'direct'
}

/** The RTCPeerConnection under a libp2p WebRTC connection (@libp2p/webrtc keeps it on its multiaddr connection). */
function peerConnectionOf (conn: Connection): RTCPeerConnection | undefined {
  const pc = (conn as unknown as { maConn?: { peerConnection?: unknown } }).maConn?.peerConnection
  return pc != null && typeof (pc as RTCPeerConnection).getStats === 'function' ? pc as RTCPeerConnection : undefined
}

/** The selected candidate pair of a peer connection, from its stats (the transport's selected pair, else the nominated succeeded one). */
export async function selectedPair (pc: RTCPeerConnection): Promise<{ local: CandidateStats, remote: CandidateStats, locals: CandidateStats[], remotes: CandidateStats[] } | undefined> {
  const stats = await pc.getStats()
  const byId = new Map<string, Record<string, unknown>>()
  stats.forEach((s: Record<string, unknown>) => { byId.set(s.id as string, s) })
  let pair: Record<string, unknown> | undefined
  for (const s of byId.values()) {
    if (s.type === 'transport' && typeof s.selectedCandidatePairId === 'string') pair = byId.get(s.selectedCandidatePairId)
  }
  pair ??= [...byId.values()].find(s => s.type === 'candidate-pair' && s.state === 'succeeded' && s.nominated === true)
  if (pair == null) return undefined
  const local = byId.get(pair.localCandidateId as string) as CandidateStats | undefined
  const remote = byId.get(pair.remoteCandidateId as string) as CandidateStats | undefined
  const all = (type: string): CandidateStats[] => [...byId.values()].filter(s => s.type === type) as CandidateStats[]
  return local != null && remote != null ? { local, remote, locals: all('local-candidate'), remotes: all('remote-candidate') } : undefined
}

/** How `conn` reaches its peer now (reads the WebRTC stats of a WebRTC connection). */
export async function connectionPath (conn: Connection): Promise<PathInfo> {
  const addr = conn.remoteAddr.toString()
  if (conn.limits != null || (addr.includes('/p2p-circuit') && !addr.includes('/webrtc'))) return { path: 'relay' }
  const pc = peerConnectionOf(conn)
  if (pc == null) return { path: 'direct' }
  let pair = await selectedPair(pc).catch(() => undefined)
  // A peer-reflexive end of a new connection may be a host candidate still being signalled
  // (trickle ICE: the check came first): read again once it has had time to arrive, so a LAN
  // pair is not named 'nat' for its first moments. Only in a connection's first seconds.
  const wait = PRFLX_SETTLE_MS - (Date.now() - conn.timeline.open)
  if (pair != null && wait > 0 && unresolvedPrflx(pair)) {
    await new Promise(resolve => setTimeout(resolve, wait))
    pair = await selectedPair(pc).catch(() => undefined) ?? pair
  }
  if (pair == null) return { path: 'direct' }
  return { path: pathOfPair(pair.local, pair.remote, pair.locals, pair.remotes), candidates: `${pair.local.candidateType ?? '?'}↔${pair.remote.candidateType ?? '?'}` }
}

/** How long after a connection opens a peer-reflexive end is given to resolve (its candidate signalled). */
export const PRFLX_SETTLE_MS = 2_000

function unresolvedPrflx (pair: { local: CandidateStats, remote: CandidateStats, locals: CandidateStats[], remotes: CandidateStats[] }): boolean {
  return resolvedType(pair.local, pair.locals) === 'prflx' || resolvedType(pair.remote, pair.remotes) === 'prflx'
}
