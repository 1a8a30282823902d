import { render } from 'preact'
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks'
import { errorText } from './format.ts'
import { call } from './local-api.ts'
import { banners } from './banners.ts'
import { acceptJoin, invitationIn } from './invitation.ts'
import { setupPage } from './relay-problems.ts'
import { watchForUpdates } from './updates.ts'
import { DashboardContext, useLive } from './live.ts'
import { homeView, impliedRole, navOrder, storeRole, storedRole } from './role.ts'
import { VIEWS, useView } from './route.ts'
import { ActivityLogView } from './views/activity.tsx'
import { BackupHealthView, Backups, Messages, MyCafes, Profile, Recovery, Restore, Search } from './views/client.tsx'
import { FirstRun } from './views/first-run.tsx'
import { CafeMode } from './views/owner/cafe-mode.tsx'
import { Clients } from './views/owner/clients.tsx'
import { Invite } from './views/owner/invite.tsx'
import { PeerStatus } from './views/owner/peer-status.tsx'
import { Reachability } from './views/owner/reachability.tsx'
import { Relays } from './views/owner/relays.tsx'
import { Settings } from './views/owner/settings.tsx'
import { Storage } from './views/owner/storage.tsx'
import { Tokens } from './views/owner/tokens.tsx'
import { Details } from './views/section.tsx'
import type { LiveData } from './live.ts'
import type { LanInfo } from '../node/lan.ts'
import type { Role } from './role.ts'
import type { ViewId } from './route.ts'
import type { RunningPeer } from '../peer/index.ts'
import type { ComponentChildren } from 'preact'

/** The banner for a new version: the service worker waits until the owner says when. */
function UpdatePrompt () {
  const [apply, setApply] = useState<() => void>()
  useEffect(() => { watchForUpdates(fn => { setApply(() => fn) }) }, [])
  return (
    <div class='banner update' data-testid='update' hidden={apply == null}>
      A new version of Lightcafe is ready. <button type='button' data-testid='apply-update' onClick={apply}>Reload to update</button>
    </div>
  )
}

/** Online, or reconnecting: the kiosk's glanceable state, beside the title. */
function Reach ({ live }: { live: LiveData | undefined }) {
  if (live == null) return <span class='reach' data-testid='reach'>starting…</span>
  const relays = live.info.relays
  // Peers, not relays: distinct peers on a direct WebRTC connection.
  const peers = new Set(live.conns.filter(c => c.transport === 'webrtc').map(c => c.peerId)).size
  const state = relays.some(r => r.reserved) ? 'online' : relays.some(r => r.connected) ? 'connecting' : relays.length === 0 ? 'no relays' : 'reconnecting'
  return <span class={`reach ${state.replace(' ', '-')}`} data-testid='reach'>{state}{state === 'online' ? ` · ${peers} peer${peers === 1 ? '' : 's'}` : '…'}</span>
}

/** A small count beside a nav link (unread messages, clients); absent when zero. */
function badge (view: ViewId, live: LiveData | undefined): string {
  if (live == null) return ''
  const n = view === 'messages' ? live.inbox.unread : view === 'clients' ? live.clients.length : 0
  return n > 0 ? String(n) : ''
}

function Nav ({ current, live, role, onPick }: { current: ViewId, live: LiveData | undefined, role: Role | undefined, onPick: () => void }) {
  const group = (g: 'cafe' | 'me', title: string) => (
    <li key={g}>
      <span class='nav-group' id={`nav-${g}`}>{title}</span>
      <ul aria-labelledby={`nav-${g}`}>
        {VIEWS.filter(v => v.group === g).map(v => {
          const count = badge(v.id, live)
          return (
            <li key={v.id}>
              <a href={`#${v.id}`} data-testid={`nav-${v.id}`} aria-current={v.id === current ? 'page' : undefined} onClick={onPick}>
                {v.label}{count !== '' && <span class='badge' aria-label={`(${count})`}>{count}</span>}
              </a>
            </li>
          )
        })}
      </ul>
    </li>
  )
  const titles = { cafe: 'This cafe', me: 'This device' } as const
  return <nav aria-label='Views'><ul class='nav'>{navOrder(role).map(g => group(g, titles[g]))}</ul></nav>
}

/** One view: mounted once and kept (its state survives switching), shown when current. */
function View ({ id, current, title, children }: { id: ViewId, current: ViewId, title: string, children: ComponentChildren }) {
  const heading = useRef<HTMLHeadingElement>(null)
  const shown = id === current
  const wasShown = useRef(shown)
  // Focus the heading of a view switched to, so keyboard and screen-reader users land in it.
  useEffect(() => {
    if (shown && !wasShown.current) heading.current?.focus()
    wasShown.current = shown
  }, [shown])
  return (
    <div class='view' id={id} data-testid={`view-${id}`} hidden={!shown} aria-labelledby={`${id}-title`} role='region'>
      <h2 class='view-title' id={`${id}-title`} tabIndex={-1} ref={heading}>{title}</h2>
      {children}
    </div>
  )
}

/** The first view shown after a choice, its heading focused (the chooser it replaces is gone). */
function land (view: ViewId): void {
  location.hash = `#${view}`
  requestAnimationFrame(() => { document.getElementById(`${view}-title`)?.focus() })
}

function Dashboard ({ peer, lan, onReady }: { peer: RunningPeer, lan: LanInfo | undefined, onReady: () => void }) {
  const [message, setMessage] = useState('')
  // An invitation answers the first-run question by itself: this device joins a cafe.
  const [role, setRole] = useState<Role | undefined>(() => {
    const stored = storedRole()
    if (stored == null && invitationIn(location.hash) != null) { storeRole('guest'); return 'guest' }
    return stored
  })
  const current = useView(homeView(role))
  // The same words again are cleared first, so a screen reader announces them again.
  const say = useCallback((text: string) => { setMessage(''); requestAnimationFrame(() => { setMessage(text) }) }, [])
  const { live, refresh } = useLive(peer, err => { say(errorText(err)) })
  const [writeTo, setWriteTo] = useState<string>()
  const compose = useCallback((to: string) => { setWriteTo(to); location.hash = '#messages' }, [])
  const setup = setupPage(lan)
  const value = useMemo(() => ({ peer, live, refresh, say, compose, writeTo, lan, setup }), [peer, live, refresh, say, compose, writeTo, lan, setup])
  const [invitation, setInvitation] = useState<{ cafe: string, token: string }>()
  const [joined, setJoined] = useState<{ cafe: string, text: string }>()
  useEffect(() => {
    // At load, and when a link is opened in this tab already showing the app (only the fragment changes).
    const join = (): void => {
      void acceptJoin(peer).then(outcome => {
        if (outcome == null) return
        if (!outcome.ok) setInvitation({ cafe: outcome.cafe, token: outcome.token })
        else setJoined({ cafe: outcome.cafe, text: outcome.text })
        location.hash = '#cafes'
        // A success is said by the welcome box (it takes focus); a toast would cover the form.
        if (!outcome.ok) say(outcome.text)
        refresh()
      })
    }
    join()
    addEventListener('hashchange', join)
    return () => { removeEventListener('hashchange', join) }
  }, [peer])
  // A profile set up before (cafe mode on, or registered with a cafe) is not asked.
  useEffect(() => {
    if (role != null || live == null) return
    const implied = impliedRole(live)
    if (implied != null) { storeRole(implied); setRole(implied) }
  }, [role, live])
  useEffect(() => { if (live != null) onReady() }, [live != null])
  const choose = (next: Role): void => {
    storeRole(next)
    setRole(next)
    if (next === 'cafe') {
      call(peer, 'PUT', '/api/v0/cafe', { enabled: true }).then(() => { say('This device is now a cafe. Invite a first client below.'); refresh() }, err => { say(`Cafe mode not turned on: ${errorText(err)}`) })
    }
    land(next === 'guest' ? 'cafes' : 'overview')
  }
  // Asked once the first reading shows nothing is set up yet; until then, the start-up line.
  const asking = role == null && (live == null || impliedRole(live) == null)
  const alerts = live == null ? [] : banners(live, setup)
  const v = (id: ViewId, title: string, children: ComponentChildren) => <View id={id} current={current} title={title}>{children}</View>
  return (
    <DashboardContext.Provider value={value}>
      <div class={asking ? 'layout single' : 'layout'}>
        <header>
          <h1><span data-testid='title'>{live?.info.cafe.enabled === true ? live.info.cafe.name : 'Lightcafe'}</span> <Reach live={live} /></h1>
          {/* A line about the last view's action means nothing in the next one the owner picks. */}
          {!asking && <Nav current={current} live={live} role={role} onPick={() => { setMessage('') }} />}
        </header>
        <main>
          {/* Always rendered (live regions announce changes, not arrivals); empty takes no room. */}
          <div role='alert' class='banner' data-testid='banner' data-empty={alerts.length === 0 ? '' : undefined}>
            {alerts.map(a => (
              <div key={a.kind}>
                <p>{a.text}</p>
                {a.problems?.map(p => <p key={p.relay} data-testid='relay-problem' title={p.relay}>{p.text}{p.link != null && <> <a href={p.link}>Open the setup page</a></>}</p>)}
              </div>
            ))}
          </div>
          <UpdatePrompt />
          {asking
            ? (live == null ? <p class='message' role='status'>Starting your node…</p> : <FirstRun onChoose={choose} />)
            : <>
              {v('overview', 'Overview', <><CafeMode /><Invite active={current === 'overview'} /><Reachability /><Details testId='overview-details'><PeerStatus /><Relays /></Details></>)}
              {v('clients', 'Clients', <><Tokens active={current === 'clients'} /><Clients /></>)}
              {v('storage', 'Storage', <Storage />)}
              {v('activity', 'Activity', <ActivityLogView active={current === 'activity'} />)}
              {v('settings', 'Settings', <Settings />)}
              {v('cafes', 'My cafes', <MyCafes invitation={invitation} joined={joined} />)}
              {v('backups', 'Backups', <><BackupHealthView /><Backups /><Recovery /></>)}
              {v('messages', 'Messages', <Messages active={current === 'messages'} />)}
              {v('search', 'Search', <Search active={current === 'search'} />)}
              {v('profile', 'Profile', <><Profile active={current === 'profile'} /><Restore /></>)}
            </>}
        </main>
      </div>
      {/* Feedback for the last action, at the bottom of the screen wherever the form was. */}
      <p role='status' class='message toast' data-testid='message' data-empty={message === '' ? '' : undefined}>{message}</p>
    </DashboardContext.Provider>
  )
}

/**
 * Renders the dashboard into `root`; `lan` (from relays.json) gives the addresses other devices
 * reach; `onReady` runs once it shows live data and takes input.
 */
export function renderDashboard (root: HTMLElement, peer: RunningPeer, lan: LanInfo | undefined, onReady: () => void = () => {}): void {
  root.replaceChildren()
  render(<Dashboard peer={peer} lan={lan} onReady={onReady} />, root)
}
