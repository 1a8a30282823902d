import { useEffect, useRef, useState } from 'preact/hooks'
import { renderSVG } from 'uqr'
import { ago, duration, errorText, mib, short } from '../format.ts'
import { joinLink } from '../invitation.ts'
import { relayProblem } from '../relay-problems.ts'
import { TAP_TO_KEEP_AWAKE, keepAwake } from '../wake-lock.ts'
import { installedApp, isWebKit, storageNote, wakeNote } from '../engine-notes.ts'
import { call } from '../local-api.ts'
import { useDashboard, useNow } from '../live.ts'
import { Bar, Pending, Section } from './section.tsx'
import type { LiveData } from '../live.ts'
import { PATH_LABEL } from '../path-words.ts'
import { outsideReach } from '../reach-outside.ts'

/** How long an invitation stays on screen: a tablet on a counter is seen by passers-by. */
const INVITE_SHOWN_MS = 10 * 60_000

/** "Invite a client": a one-use token as a QR code and a link that registers in one step. */
export function Invite ({ active }: { active: boolean }) {
  const { peer, live, say, lan } = useDashboard()
  const [invite, setInvite] = useState<{ id: string, url: string }>()
  const link = useRef<HTMLAnchorElement>(null)
  useEffect(() => { if (invite != null) link.current?.focus() }, [invite])
  // Off the screen once used, after a while, or when the owner leaves the view.
  const used = invite != null && live?.tokens.some(t => t.id === invite.id && (t.usedBy != null || t.revoked != null)) === true
  useEffect(() => { if (used) { setInvite(undefined); say('The invitation was used: that device is now a client.') } }, [used])
  useEffect(() => { if (!active) setInvite(undefined) }, [active])
  useEffect(() => {
    if (invite == null) return
    const t = setTimeout(() => { setInvite(undefined) }, INVITE_SHOWN_MS)
    return () => { clearTimeout(t) }
  }, [invite])
  const create = (): void => {
    call<{ id: string, token: string }>(peer, 'POST', '/api/v0/tokens').then(({ id, token }) => {
      // In LAN mode the link names the LAN's https origin and relays, reachable from a phone.
      setInvite({ id, url: joinLink(location.href, peer.node.libp2p.peerId.toString(), token, lan) })
      say('Scan the code or open the link on the other device; the invitation works for one account.')
    }, err => { say(`Could not create an invitation: ${errorText(err)}`) })
  }
  const url = invite?.url
  return (
    <Section id='invite' title='Invite a client'>
      <button type='button' data-testid='invite' onClick={create}>{invite == null ? 'Invite a client' : 'New invitation'}</button>
      <p><a ref={link} data-testid='invite-link' href={url}>{url}</a></p>
      {/* uqr draws the code as SVG paths from the link alone: no markup of ours goes in. */}
      <div data-testid='invite-qr' class='qr' role='img' aria-label='QR code of the invitation link' dangerouslySetInnerHTML={{ __html: url != null ? renderSVG(url, { border: 2 }) : '' }} />
      {invite != null && <p>Shown until it is used, for 10 minutes at most; it stays valid until then (revoke it under Clients).</p>}
    </Section>
  )
}

function Uptime ({ since }: { since: string }) {
  const now = useNow()
  return <dd data-testid='uptime'>{duration(now - Date.parse(since))}</dd>
}

/** This peer: identity, uptime and every open connection with its transport. */
export function PeerStatus () {
  const { live } = useDashboard()
  // The same rows before the first reading as after it: nothing below moves when data comes.
  const info = live?.info
  const conns = live?.conns ?? []
  return (
    <Section id='peer' title='This peer'>
      <dl>
        <dt>Peer id</dt><dd data-testid='peer-id'>{info?.peerId ?? '…'}</dd>
        <dt>Account</dt><dd data-testid='account'>{info?.address ?? '…'}</dd>
        <dt>Up for</dt>{info != null ? <Uptime since={info.startedAt} /> : <dd>…</dd>}
        <dt>Connections</dt>
        <dd>
          {conns.length === 0
            ? (live == null ? '…' : 'none')
            : <ul class='plain'>{conns.map(c => <li key={c.remoteAddr} data-testid='connection' data-path={c.path} title={`${c.peerId} ${c.remoteAddr}${c.candidates != null ? ` (${c.candidates})` : ''}`}>{short(c.peerId)} ({c.transport}, {PATH_LABEL[c.path]})</li>)}</ul>}
        </dd>
      </dl>
    </Section>
  )
}

/** What a browser without WebRTC (no RTCPeerConnection) can and cannot reach. */
function noWebRtc (cafe: boolean): string {
  return 'This browser has no WebRTC, so no device connects to this one directly: cafes in a browser tab, and devices messaging this one, are reached through the relay, within the limits its owner sets; ' +
    'cafes with a WebSocket address (a Node cafe) are reached directly.' +
    (cafe ? ' Clients reach this cafe only through the relay, within its limits: for a cafe, use a browser with WebRTC or a Node cafe.' : '')
}

/** How other devices reach this one, in plain words, and why a relay cannot be reached. */
export function Reachability () {
  const { live, setup } = useDashboard()
  const relays = live?.info.relays ?? []
  const reserved = relays.filter(r => r.reserved).length
  const conns = live?.conns ?? []
  const peers = new Set(conns.filter(c => c.transport === 'webrtc').map(c => c.peerId)).size
  const byPath = (['direct', 'nat', 'turn', 'relay'] as const).map(p => [p, new Set(conns.filter(c => c.path === p && c.transport !== 'websockets').map(c => c.peerId)).size] as const).filter(([, n]) => n > 0)
  const problems = relays.flatMap(r => relayProblem(r, setup) ?? [])
  const line = live == null
    ? '…'
    : relays.length === 0
      ? 'No relay is set up, so other devices cannot reach this one.'
      : reserved > 0
        ? `Other devices can reach this one (through ${reserved === 1 ? 'a relay' : `${reserved} relays`}); ${peers === 0 ? 'none is' : peers === 1 ? '1 device is' : `${peers} devices are`} connected over WebRTC.`
        : relays.some(r => r.cause != null)
          ? 'Other devices cannot reach this one: no relay answers (why below); trying again…'
          : 'Other devices cannot reach this one yet: connecting to the relay…'
  return (
    <Section id='reachability' title='Reachability'>
      <p data-testid='reachability'>{line}</p>
      {live != null && reserved > 0 && live.info.webrtc !== false && <p data-testid='reach-outside'>Reachable {outsideReach(live.info.iceServers ?? [], conns.map(c => c.path))}.</p>}
      {byPath.length > 0 && <p data-testid='reach-paths'>Connected now: {byPath.map(([p, n]) => `${n} ${PATH_LABEL[p]}`).join(', ')}.</p>}
      {live?.info.webrtc === false && <p data-testid='no-webrtc'>{noWebRtc(live.info.cafe.enabled)}</p>}
      {problems.length > 0 && (
        <ul>
          {problems.map(p => <li key={p.relay} data-testid='relay-cause' title={p.relay}>{p.text}{p.link != null && <> <a href={p.link}>Open the setup page</a></>}</li>)}
        </ul>
      )}
    </Section>
  )
}

export function Relays () {
  const { live } = useDashboard()
  return (
    <Section id='relays' title='Relays'>
      <ul>
        {live == null
          ? <li>…</li>
          : live.info.relays.map(r => <li key={r.multiaddr} data-testid='relay'>{r.connected ? (r.reserved ? 'reserved' : 'connected, reserving a slot') : 'reconnecting'}<code class='addr'>{r.multiaddr}</code></li>)}
      </ul>
      {live?.info.relays.length === 0 && <p>No relay configured: add <code>?relay=&lt;multiaddr&gt;</code> to the address, or serve <code>/relays.json</code>.</p>}
    </Section>
  )
}

/** Cafe mode, and the kiosk's state: screen kept on, storage persistence and use. */
export function CafeMode () {
  const { peer, live, refresh, say } = useDashboard()
  const enabled = live?.info.cafe.enabled === true
  const [awake, setAwake] = useState('…')
  const retake = useRef<() => void>()
  useEffect(() => {
    retake.current = keepAwake(async () => (await call<{ enabled: boolean }>(peer, 'GET', '/api/v0/cafe')).enabled, setAwake)
  }, [peer])
  // Cafe mode may change through the API too: take or release the screen wake lock then.
  useEffect(() => { retake.current?.() }, [enabled])
  const toggle = (e: Event): void => {
    call(peer, 'PUT', '/api/v0/cafe', { enabled: (e.currentTarget as HTMLInputElement).checked }).then(refresh, err => { say(errorText(err)) })
  }
  const st = live?.storage
  const reported = st?.reported !== false
  // Browsers grant persistence to installed or often-used sites; asking from a click may help.
  const askToPersist = (): void => {
    void navigator.storage?.persist?.().then(ok => { say(ok ? 'Storage is now persistent.' : 'The browser said no; installing the app (or bookmarking it) usually makes it agree.'); refresh() })
  }
  // Safari's rules, on the screen of the one who runs the cafe, only in WebKit.
  const webkit = isWebKit(navigator.userAgent)
  const notes = enabled ? [storageNote(webkit, installedApp()), wakeNote(webkit, installedApp(), navigator.wakeLock != null)].filter(n => n != null) : []
  return (
    <Section id='cafe' title='Cafe mode'>
      <label for='cafe-enabled'><input type='checkbox' id='cafe-enabled' data-testid='cafe-enabled' checked={enabled} onChange={toggle} /> Offer cafe services to other peers</label>
      <dl>
        <dt>Screen</dt>
        <dd data-testid='wake-lock'>{awake === TAP_TO_KEEP_AWAKE ? <button type='button' data-testid='wake-lock-tap' onClick={() => retake.current?.()}>Tap to keep the screen on</button> : awake}</dd>
        <dt>Storage</dt>
        <dd class='storage-line'>
          <span data-testid='storage'>{st == null ? '…' : !reported ? 'not reported by this browser' : `${mib(st.usage)} of ${mib(st.quota)} used; ${st.persisted ? 'persistent (the browser will not evict it)' : 'not persistent: the browser may evict it under pressure'}`}</span>
          {st != null && reported && !st.persisted && <> <button type='button' data-testid='persist' onClick={askToPersist}>Ask the browser to keep it</button></>}
        </dd>
        <dt>If it were lost</dt>
        <dd data-testid='loss-cost'><LossCost /></dd>
      </dl>
      {notes.map(n => <p key={n} class='note' data-testid='webkit-note'>{n}</p>)}
    </Section>
  )
}

/**
 * What losing this cafe's storage would cost its clients, in words: the backups, snapshots and
 * waiting messages it keeps, and pins whose blocks are already gone.
 */
export function LossCost () {
  const { live } = useDashboard()
  if (live == null) return <>…</>
  const { clients, storage } = live
  const bytes = clients.reduce((n, c) => n + c.bytes, 0)
  const pins = clients.reduce((n, c) => n + c.pins, 0)
  const lost = clients.filter(c => c.lost > 0)
  const inbox = clients.reduce((n, c) => n + c.inbox, 0)
  const snapshots = clients.reduce((n, c) => n + c.snapshots, 0)
  if (clients.length === 0) return <>Nothing yet: no client keeps anything here.</>
  return (
    <>
      {`${clients.length} ${clients.length === 1 ? 'client' : 'clients'} would lose ${mib(bytes)} of backups here (${pins} ${pins === 1 ? 'backup' : 'backups'}, ${snapshots} thread ${snapshots === 1 ? 'snapshot' : 'snapshots'})${inbox > 0 ? ` and ${inbox} waiting ${inbox === 1 ? 'message' : 'messages'} that no other place holds` : ''}. `}
      {'Their devices notice at their next check (within an hour) and upload again what they still have; a backup this cafe alone held, from a device that is gone, would be lost. '}
      {storage.persisted ? 'This browser has made the storage persistent: it will not evict it.' : 'This browser may evict it under storage pressure (Safari after 7 days without a visit unless the app is on the Home Screen): install the app or ask the browser to keep it.'}
      {lost.length > 0 && <strong data-testid='blocks-lost'>{` Already lost: ${lost.reduce((n, c) => n + c.lost, 0)} backup(s) of ${lost.length} ${lost.length === 1 ? 'client' : 'clients'} miss blocks this storage no longer has; those clients upload them again at their next check.`}</strong>}
    </>
  )
}

export function Tokens ({ active }: { active: boolean }) {
  const { peer, live, refresh, say } = useDashboard()
  const [created, setCreated] = useState('')
  const shown = useRef<HTMLParagraphElement>(null)
  // A token on screen is a key to this cafe: gone when the owner leaves the view.
  useEffect(() => { if (!active) setCreated('') }, [active])
  useEffect(() => { if (created !== '') shown.current?.focus() }, [created])
  const create = (): void => {
    call<{ token: string }>(peer, 'POST', '/api/v0/tokens').then(t => {
      setCreated(t.token)
      say('Token created. Copy it now: it is shown only once.')
      refresh()
    }, err => { say(errorText(err)) })
  }
  const copy = (): void => {
    void navigator.clipboard?.writeText(created).then(() => { say('Copied.') }, () => { say('Copy failed; select the token and copy it by hand.') })
  }
  const revoke = (id: string): void => {
    if (!confirm(`Revoke token ${id}? Nobody can register with it any more (a client already registered with it stays).`)) return
    call(peer, 'DELETE', `/api/v0/tokens/${encodeURIComponent(id)}`).then(() => { say(`Token ${id} revoked.`); refresh(); focusHeading('tokens') }, err => { say(errorText(err)) })
  }
  return (
    <Section id='tokens' title='Access tokens'>
      <button type='button' data-testid='create-token' onClick={create}>Create access token</button>
      {/* Not a live region: a screen reader reads the secret when the owner moves to it, not aloud at once. */}
      <p class='secret' data-testid='new-token' tabIndex={-1} ref={shown}>{created}</p>
      {created !== '' && <p><button type='button' onClick={copy}>Copy token</button></p>}
      <ul data-testid='token-list'>
        {live?.tokens.map(t => (
          <li key={t.id}>
            {t.id} — {t.revoked != null ? 'revoked' : t.usedBy != null ? `used by ${short(t.usedBy)}` : 'unused'}{' '}
            {t.revoked == null && <button type='button' aria-label={`Revoke token ${t.id}`} onClick={() => { revoke(t.id) }}>Revoke</button>}
          </li>
        ))}
      </ul>
      {live?.tokens.length === 0 && <p>No tokens yet.</p>}
    </Section>
  )
}

/** After a row's button went away with its row: the section's heading takes focus. */
function focusHeading (section: string): void {
  document.getElementById(`${section}-h`)?.focus()
}

/** A client's own quota: a number of MiB, or the cafe's default. */
function QuotaEditor ({ client }: { client: LiveData['clients'][number] }) {
  const { peer, refresh, say } = useDashboard()
  const set = (quota: number | null): void => {
    call(peer, 'PUT', `/api/v0/clients/${encodeURIComponent(client.address)}`, { quota }).then(() => {
      say(quota == null ? `${short(client.address)} is back on the cafe's default quota.` : `${short(client.address)} may now keep ${mib(quota)}.`)
      refresh()
    }, err => { say(`Quota not changed: ${errorText(err)}`) })
  }
  const save = (e: Event): void => {
    e.preventDefault()
    set(Math.round(Number(new FormData(e.currentTarget as HTMLFormElement).get('mib')) * 2 ** 20))
  }
  const id = `quota-${client.address}`
  return (
    <details class='quota'>
      <summary aria-label={`Quota of ${client.address}`}>Quota</summary>
      <form class='inline' onSubmit={save}>
        <label for={id}>MiB</label>
        <input id={id} name='mib' type='number' min={0} step={1} required defaultValue={String(Math.round(client.quota / 2 ** 20))} data-testid='client-quota' />
        <button type='submit'>Set</button>
        <button type='button' onClick={() => { set(null) }}>Default</button>
      </form>
    </details>
  )
}

/** Registered clients with what the cafe keeps for each; the owner can remove one. */
export function Clients () {
  const { peer, live, refresh, say } = useDashboard()
  const now = useNow(30_000)
  const remove = (address: string): void => {
    if (!confirm(`Remove ${short(address)}? Its sessions end, everything this cafe keeps for it (backups, snapshots, inbox, contact) is deleted, and it can come back only with a new invitation.`)) return
    call(peer, 'DELETE', `/api/v0/clients/${encodeURIComponent(address)}`).then(() => { say(`Removed ${short(address)}: it stays out until you invite it again.`); refresh(); focusHeading('client-table') }, err => { say(errorText(err)) })
  }
  return (
    <Section id='client-table' title='Registered clients'>
      <div class='table-wrap'>
        <table>
          <thead><tr><th>Account</th><th>Peer</th><th>Registered</th><th>Last seen</th><th>Stored / quota</th><th>Pins</th><th>Snapshots</th><th>Inbox</th><th><span class='visually-hidden'>Actions</span></th></tr></thead>
          <tbody data-testid='client-list'>
            {live?.clients.map(c => (
              <tr key={c.address}>
                <td title={c.address}>{short(c.address)}</td><td title={c.peerId}>{short(c.peerId)}</td><td><time dateTime={c.registered} title={c.registered}>{ago(c.registered, now)}</time></td><td><time dateTime={c.lastSeen} title={c.lastSeen}>{ago(c.lastSeen, now)}</time></td>
                <td data-testid='client-bytes'>{mib(c.bytes)} / {mib(c.quota)}</td><td data-testid='client-pins'>{c.pins}{c.lost > 0 ? ` (+${c.lost} with lost blocks)` : ''}</td><td data-testid='client-snapshots'>{c.snapshots}</td><td data-testid='client-inbox'>{c.inbox}</td>
                <td class='row-actions'><QuotaEditor client={c} /> <button type='button' data-testid='remove-client' aria-label={`Remove client ${c.address}`} onClick={() => { remove(c.address) }}>Remove</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {live?.clients.length === 0 && <p>No clients yet: invite one above.</p>}
    </Section>
  )
}

/** Storage: this browser's use against what it grants, and a bar per client against its quota. */
export function Storage () {
  const { live } = useDashboard()
  if (live == null) return <Section id='storage-body'><Pending /></Section>
  const { storage: st, clients } = live
  const total = clients.reduce((n, c) => n + c.bytes, 0)
  return (
    <Section id='storage-body'>
      {st.reported === false
        ? <p data-testid='storage-unreported'>This browser's storage use: not reported by this browser.</p>
        : <>
          <p>This browser: {mib(st.usage)} of {mib(st.quota)}</p>
          <Bar share={st.quota > 0 ? st.usage / st.quota : 0} label='Browser storage used' testId='storage-total' />
        </>}
      <h3>Kept for clients: {mib(total)}</h3>
      {clients.length === 0 && <p>No clients yet.</p>}
      <ul class='chart' data-testid='storage-chart'>
        {clients.map(c => (
          <li key={c.address} data-testid='storage-client' title={c.address}>
            <span>{short(c.address)}: {mib(c.bytes)} of {mib(c.quota)}</span>
            <Bar share={c.quota > 0 ? c.bytes / c.quota : 0} label={`${short(c.address)} uses ${mib(c.bytes)} of its ${mib(c.quota)} quota`} testId='storage-bar' />
          </li>
        ))}
      </ul>
    </Section>
  )
}

const DAY = 86_400_000

/**
 * Settings: name, open for new clients, quota and inbox limits; saving writes them all. The form
 * follows changes made elsewhere (the API, another tab) until the owner starts editing it.
 */
export function Settings () {
  const { peer, live, refresh, say } = useDashboard()
  const editing = useRef(false)
  const [dirty, setDirty] = useState(false)
  const [shown, setShown] = useState<LiveData['settings']>()
  // A new form (its key) only for a change made elsewhere, never under the owner's typing, and
  // not after a save either: the inputs already hold what was saved (and keep the focus).
  const [generation, setGeneration] = useState(0)
  const fromLive = live == null ? '' : JSON.stringify(live.settings)
  useEffect(() => {
    if (live == null || editing.current) return
    if (shown == null || JSON.stringify(shown) !== fromLive) { setShown(live.settings); setGeneration(g => g + 1) }
  }, [fromLive])
  const edited = (on: boolean): void => { editing.current = on; setDirty(on) }
  if (shown == null) return <Section id='settings-body'><Pending /></Section>
  const save = (e: Event): void => {
    e.preventDefault()
    const f = new FormData(e.currentTarget as HTMLFormElement)
    const whole = (name: string, scale: number): number => Math.round(Number(f.get(name)) * scale)
    call<LiveData['settings']>(peer, 'PUT', '/api/v0/cafe', {
      name: String(f.get('name')).trim(),
      open: f.get('open') === 'on',
      quotaBytes: whole('quota', 2 ** 20),
      inbox: { perRecipientCount: whole('inboxCount', 1), perRecipientBytes: whole('inboxMib', 2 ** 20), ttlMs: whole('inboxDays', DAY) }
    }).then(next => { setShown(next); edited(false); say('Settings saved.'); refresh() }, err => { say(`Settings not saved: ${errorText(err)}`) })
  }
  const discard = (): void => {
    edited(false)
    if (live != null) setShown(live.settings)
    setGeneration(g => g + 1)
  }
  return (
    <Section id='settings-body'>
      <form key={generation} onSubmit={save} onInput={() => { edited(true) }} onChange={() => { edited(true) }}>
        <label for='cafe-name'>Name</label>
        <input id='cafe-name' name='name' data-testid='cafe-name' maxLength={64} required defaultValue={shown.name} />
        <label for='cafe-open' class='check'><input type='checkbox' id='cafe-open' name='open' data-testid='cafe-open' defaultChecked={shown.open} /> Open for new clients (registered clients are always served)</label>
        <label for='cafe-quota'>Storage per client (MiB)</label>
        <input id='cafe-quota' name='quota' data-testid='cafe-quota' type='number' min={1} step={1} required defaultValue={String(Math.round(shown.quotaBytes / 2 ** 20))} />
        <fieldset>
          <legend>Inbox per client</legend>
          <label for='inbox-count'>Messages kept</label>
          <input id='inbox-count' name='inboxCount' data-testid='inbox-count' type='number' min={1} step={1} required defaultValue={String(shown.inbox.perRecipientCount)} />
          <label for='inbox-mib'>Size kept (MiB)</label>
          <input id='inbox-mib' name='inboxMib' data-testid='inbox-mib' type='number' min={1} step={1} required defaultValue={String(Math.round(shown.inbox.perRecipientBytes / 2 ** 20))} />
          <label for='inbox-days'>Days kept</label>
          <input id='inbox-days' name='inboxDays' data-testid='inbox-days' type='number' min={1} step={1} required defaultValue={String(Math.round(shown.inbox.ttlMs / DAY))} />
        </fieldset>
        <div class='actions'>
          <button type='submit' data-testid='save-settings'>Save settings</button>
          {dirty && <button type='button' onClick={discard}>Discard changes</button>}
        </div>
      </form>
    </Section>
  )
}
