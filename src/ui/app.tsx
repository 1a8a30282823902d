import { render } from 'preact'
import { useEffect, useMemo, useState } from 'preact/hooks'
import { errorText } from './format.ts'
import { acceptJoin, banners, watchForUpdates } from './kiosk.ts'
import { DashboardContext, useLive } from './live.ts'
import { ActivityLogView } from './views/activity.tsx'
import { Backups, Messages, MyCafes, Profile, Recovery, Search } from './views/client.tsx'
import { CafeMode, Clients, Invite, PeerStatus, Relays, Settings, Storage, Tokens } from './views/owner.tsx'
import type { RunningPeer } from './peer.ts'

const NAV: Array<[string, string]> = [
  ['invite', 'Invite'], ['peer', 'Status'], ['clients', 'Clients'], ['storage', 'Storage'], ['activity', 'Activity'], ['settings', 'Settings'],
  ['cafes', 'My cafes'], ['backups', 'Backups'], ['recovery', 'Recovery'], ['messages', 'Messages'], ['search', 'Search'], ['account', 'Profile']
]

/** The banner for a new version: the service worker waits until the owner says when. */
function UpdatePrompt () {
  const [apply, setApply] = useState<() => void>()
  useEffect(() => { watchForUpdates(fn => { setApply(() => fn) }) }, [])
  return (
    <div class='banner update' data-testid='update' hidden={apply == null}>
      A new version of Lightcafe is ready. <button type='button' onClick={apply}>Reload to update</button>
    </div>
  )
}

function Dashboard ({ peer, onReady }: { peer: RunningPeer, onReady: () => void }) {
  const [message, say] = useState('')
  const { live, refresh } = useLive(peer, err => { say(errorText(err)) })
  const value = useMemo(() => ({ peer, live, refresh, say }), [peer, live, refresh])
  useEffect(() => { void acceptJoin(peer, text => { say(text); refresh() }) }, [peer])
  useEffect(() => { if (live != null) onReady() }, [live != null])
  const alerts = live == null ? [] : banners(peer, live.storage)
  return (
    <DashboardContext.Provider value={value}>
      <header>
        <h1>{live?.info.cafe.enabled === true ? live.info.cafe.name : 'Lightcafe'}</h1>
        <nav aria-label='Sections'><ul>{NAV.map(([id, label]) => <li key={id}><a href={`#${id}`}>{label}</a></li>)}</ul></nav>
      </header>
      <div role='alert' class='banner' data-testid='banner' hidden={alerts.length === 0}>{alerts.map(a => <p key={a}>{a}</p>)}</div>
      <UpdatePrompt />
      <p role='status' class='message' data-testid='message'>{message}</p>
      <div class='columns'>
        <div>
          <Invite />
          <PeerStatus />
          <Relays />
          <CafeMode />
          <Tokens />
          <Clients />
          <Storage />
          <ActivityLogView />
          <Settings />
        </div>
        <div>
          <MyCafes />
          <Backups />
          <Recovery />
          <Messages />
          <Search />
          <Profile />
        </div>
      </div>
    </DashboardContext.Provider>
  )
}

/** Renders the dashboard into `root`; `onReady` runs once it shows live data and takes input. */
export function renderDashboard (root: HTMLElement, peer: RunningPeer, onReady: () => void = () => {}): void {
  root.replaceChildren()
  render(<Dashboard peer={peer} onReady={onReady} />, root)
}
