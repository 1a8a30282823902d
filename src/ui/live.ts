import { createContext } from 'preact'
import { useCallback, useContext, useEffect, useRef, useState } from 'preact/hooks'
import { call } from './local-api.ts'
import type { RunningPeer } from '../peer/index.ts'
import type { RelayState } from '../node/relay-keeper.ts'
import type { LanInfo } from '../node/lan.ts'
import type { ConnectionInfo, LocalApiDeps, MessageStatus, PeerView, SessionView } from '../api/app.ts'
import type { CafeSettingsView } from '../api/owner-routes.ts'
import type { CafeHost, ClientView } from '../cafe/index.ts'
import type { BackupHealth, BackupOutbox } from '../client/index.ts'

/** One reading of the dashboard: the local API path that answers it, and (as a type) what it answers. */
interface Reading<T> { path: string, answer?: T }
const reading = <T>(path: string): Reading<T> => ({ path })

/**
 * What the dashboard shows, read from the local API in one go, each once: its name here, its
 * path, and its type, taken from the API's own (the views never see fixtures).
 */
const READINGS = {
  info: reading<PeerView>('/api/v0/peer'),
  conns: reading<ConnectionInfo[]>('/api/v0/connections'),
  tokens: reading<Awaited<ReturnType<CafeHost['listTokens']>>>('/api/v0/tokens'),
  clients: reading<ClientView[]>('/api/v0/clients'),
  cafes: reading<SessionView[]>('/api/v0/cafes'),
  inbox: reading<MessageStatus>('/api/v0/messages/status'),
  storage: reading<Awaited<ReturnType<LocalApiDeps['storage']>>>('/api/v0/storage'),
  backups: reading<Awaited<ReturnType<BackupOutbox['list']>>>('/api/v0/backups'),
  settings: reading<CafeSettingsView>('/api/v0/cafe'),
  /** Where this account's backups are and how each cafe keeps them. */
  health: reading<BackupHealth>('/api/v0/backups/health')
}

type Readings = { [K in keyof typeof READINGS]: typeof READINGS[K] extends Reading<infer T> ? T : never }

/** The dashboard's data: every reading, with the relays as the keeper sees them (why a dial failed too). */
export type LiveData = Omit<Readings, 'info'> & { info: Omit<PeerView, 'relays'> & { relays: RelayState[] } }

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
  const names = Object.keys(READINGS) as Array<keyof typeof READINGS>
  const values = await Promise.all(names.map(async name => get<unknown>(READINGS[name].path)))
  const data = Object.fromEntries(names.map((name, i) => [name, values[i]])) as Readings
  // The relays as the keeper sees them, with why a dial failed (the local API gives the state only).
  return { ...data, info: { ...data.info, relays: peer.node.relays.state() } }
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
    const sources = [peer.node.relays, peer.client, peer.backups, peer.checks]
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
