import { createContext } from 'preact'
import { useCallback, useContext, useEffect, useRef, useState } from 'preact/hooks'
import { call } from './local-api.ts'
import type { RunningPeer } from './peer.ts'
import type { RelayState } from '../node/relay-keeper.ts'
import type { LanInfo } from '../node/lan.ts'
import type { ConnectionPath } from '../node/connection-path.ts'
import type { BackupHealth } from '../client/index.ts'

/** What the dashboard shows, read from the local API in one go (the views never see fixtures). */
export interface LiveData {
  info: { peerId: string, address: string, startedAt: string, relays: RelayState[], iceServers: string[], webrtc?: boolean, cafe: { enabled: boolean, name: string } }
  conns: Array<{ peerId: string, remoteAddr: string, transport: string, direct: boolean, path: ConnectionPath, candidates?: string }>
  tokens: Array<{ id: string, created: string, revoked?: string, usedBy?: string }>
  clients: Array<{ address: string, peerId: string, registered: string, lastSeen: string, quota: number, bytes: number, pins: number, lost: number, snapshots: number, inbox: number }>
  cafes: Array<{ id: string, exp: string, rexp: string, registered: string, ended?: { reason: string } }>
  inbox: { unread: number, received: number, outbox: number, problem?: { reason: string, details: string, held: number } | null }
  storage: { usage: number, quota: number, persisted: boolean, reported?: boolean }
  backups: Array<{ cid: string, cafes: Array<{ id: string, status: string, sent?: number, size?: number, error?: { reason: string, details: string } }> }>
  settings: { enabled: boolean, name: string, open: boolean, quotaBytes: number, inbox: { perRecipientCount: number, perRecipientBytes: number, ttlMs: number } }
  /** Where this account's backups are and how each cafe keeps them. */
  health: BackupHealth
}

export interface Dashboard {
  peer: RunningPeer
  /** The last reading; undefined until the first one arrives. */
  live: LiveData | undefined
  /** Reads everything again now (after an action, so its result shows at once). */
  refresh: () => void
  /** The status line for the last action (role=status, read out by screen readers). */
  say: (text: string) => void
  /** Opens Messages addressed to this account (from a search result). */
  compose: (to: string) => void
  /** The address Messages was last opened for. */
  writeTo: string | undefined
  /** LAN mode (from relays.json): the origin and relays other devices reach. */
  lan: LanInfo | undefined
  /** The page that installs the LAN's certificate, when known. */
  setup: string | undefined
}

export const DashboardContext = createContext<Dashboard | undefined>(undefined)

export function useDashboard (): Dashboard {
  const d = useContext(DashboardContext)
  if (d == null) throw new Error('useDashboard outside the dashboard')
  return d
}

async function read (peer: RunningPeer): Promise<LiveData> {
  // The first reading marks when each call ends (`lc:first-reading/<path>`): which one the dashboard waits for.
  const first = performance.getEntriesByName('lc:first-reading').length === 0
  const get = async <T>(path: string): Promise<T> => {
    const value = await call<T>(peer, 'GET', path)
    if (first && performance.getEntriesByName(`lc:first-reading${path}`).length === 0) performance.mark(`lc:first-reading${path}`)
    return value
  }
  const [info, conns, tokens, clients, cafes, inbox, storage, backups, settings, health] = await Promise.all([
    get<LiveData['info']>('/api/v0/peer'),
    get<LiveData['conns']>('/api/v0/connections'),
    get<LiveData['tokens']>('/api/v0/tokens'),
    get<LiveData['clients']>('/api/v0/clients'),
    get<LiveData['cafes']>('/api/v0/cafes'),
    get<LiveData['inbox']>('/api/v0/messages/status'),
    get<LiveData['storage']>('/api/v0/storage'),
    get<LiveData['backups']>('/api/v0/backups'),
    get<LiveData['settings']>('/api/v0/cafe'),
    get<LiveData['health']>('/api/v0/backups/health')
  ])
  // The relays as the keeper sees them, with why a dial failed (the local API gives the state only).
  return { info: { ...info, relays: peer.node.relays.state() }, conns, tokens, clients, cafes, inbox, storage, backups, settings, health }
}

/** A first reading started before the dashboard renders (boot.ts), taken by its first refresh. */
const early = new WeakMap<RunningPeer, Promise<LiveData>>()

/**
 * Starts the first reading now: its calls then wait on IndexedDB while the dashboard's first
 * frame renders and paints, instead of starting only after it (useEffect runs after paint).
 */
export function readEarly (peer: RunningPeer): void {
  const reading = read(peer)
  reading.catch(() => { /* reported by the refresh that takes it */ })
  early.set(peer, reading)
}

/** Keeps the reading fresh: on the node's own events, and every `everyMs` for the rest. */
export function useLive (peer: RunningPeer, onError: (err: unknown) => void, everyMs = 3_000): { live: LiveData | undefined, refresh: () => void } {
  const [live, setLive] = useState<LiveData>()
  const running = useRef(false)
  const again = useRef(false)
  const refresh = useCallback(() => {
    // One reading at a time; a request meanwhile runs once more after it.
    if (running.current) { again.current = true; return }
    running.current = true
    const pending = early.get(peer) ?? read(peer)
    early.delete(peer)
    pending.then(data => {
      // The first reading's arrival: what the dashboard's first full render (lc:ui) waits for.
      if (performance.getEntriesByName('lc:first-reading').length === 0) performance.mark('lc:first-reading')
      setLive(data)
    }, onError).finally(() => {
      running.current = false
      if (again.current) { again.current = false; refresh() }
    })
  }, [peer])
  useEffect(() => {
    const sources: EventTarget[] = [peer.node.relays, peer.client, peer.messages, peer.backups, peer.checks]
    for (const s of sources) s.addEventListener('change', refresh)
    peer.messages.addEventListener('message', refresh)
    peer.messages.addEventListener('sent', refresh)
    const timer = setInterval(refresh, everyMs)
    refresh()
    return () => {
      for (const s of sources) s.removeEventListener('change', refresh)
      peer.messages.removeEventListener('message', refresh)
      peer.messages.removeEventListener('sent', refresh)
      clearInterval(timer)
    }
  }, [peer, refresh])
  return { live, refresh }
}

/** A value that re-renders its component every `ms` (uptime, "last seen"). */
export function useNow (ms = 1_000): number {
  const [now, setNow] = useState(Date.now())
  useEffect(() => {
    const t = setInterval(() => { setNow(Date.now()) }, ms)
    return () => { clearInterval(t) }
  }, [ms])
  return now
}
