import { useEffect, useRef, useState } from 'preact/hooks'
import { renderSVG } from 'uqr'
import { duration, errorText, mib, short } from '../format.ts'
import { joinLink, keepAwake } from '../kiosk.ts'
import { call } from '../local-api.ts'
import { useDashboard, useNow } from '../live.ts'
import { Bar, Pending, Section } from './section.tsx'
import type { LiveData } from '../live.ts'

/** "Invite a client": a one-use token as a QR code and a link that registers in one step. */
export function Invite () {
  const { peer, say } = useDashboard()
  const [url, setUrl] = useState<string>()
  const link = useRef<HTMLAnchorElement>(null)
  useEffect(() => { if (url != null) link.current?.focus() }, [url])
  const invite = (): void => {
    call<{ token: string }>(peer, 'POST', '/api/v0/tokens').then(({ token }) => {
      setUrl(joinLink(location.origin, peer.node.libp2p.peerId.toString(), token))
      say('Scan the code or open the link on the other device; the invitation works for one account.')
    }, err => { say(`Could not create an invitation: ${errorText(err)}`) })
  }
  return (
    <Section id='invite' title='Invite a client'>
      <button type='button' data-testid='invite' onClick={invite}>Invite a client</button>
      <p><a ref={link} data-testid='invite-link' href={url}>{url}</a></p>
      {/* uqr draws the code as SVG paths from the link alone: no markup of ours goes in. */}
      <div data-testid='invite-qr' class='qr' role='img' aria-label='QR code of the invitation link' dangerouslySetInnerHTML={{ __html: url != null ? renderSVG(url, { border: 2 }) : '' }} />
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
            : <ul class='plain'>{conns.map(c => <li key={`${c.peerId}${c.transport}`} data-testid='connection' title={c.peerId}>{short(c.peerId)} ({c.transport})</li>)}</ul>}
        </dd>
      </dl>
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
          : live.info.relays.map(r => <li key={r.multiaddr} data-testid='relay'>{r.connected ? (r.reserved ? 'reserved' : 'connected, reserving a slot') : 'reconnecting'} — {r.multiaddr}</li>)}
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
  // Browsers grant persistence to installed or often-used sites; asking from a click may help.
  const askToPersist = (): void => {
    void navigator.storage?.persist?.().then(ok => { say(ok ? 'Storage is now persistent.' : 'The browser said no; installing the app (or bookmarking it) usually makes it agree.'); refresh() })
  }
  return (
    <Section id='cafe' title='Cafe mode'>
      <label for='cafe-enabled'><input type='checkbox' id='cafe-enabled' data-testid='cafe-enabled' checked={enabled} onChange={toggle} /> Offer cafe services to other peers</label>
      <dl>
        <dt>Screen</dt><dd data-testid='wake-lock'>{awake}</dd>
        <dt>Storage</dt>
        <dd>
          <span data-testid='storage'>{st == null ? '…' : `${mib(st.usage)} of ${mib(st.quota)} used; ${st.persisted ? 'persistent (the browser will not evict it)' : 'not persistent: the browser may evict it under pressure'}`}</span>
          {st != null && !st.persisted && <> <button type='button' data-testid='persist' onClick={askToPersist}>Ask the browser to keep it</button></>}
        </dd>
      </dl>
    </Section>
  )
}

export function Tokens () {
  const { peer, live, refresh, say } = useDashboard()
  const [created, setCreated] = useState('')
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
    call(peer, 'DELETE', `/api/v0/tokens/${encodeURIComponent(id)}`).then(refresh, err => { say(errorText(err)) })
  }
  return (
    <Section id='tokens' title='Access tokens'>
      <button type='button' data-testid='create-token' onClick={create}>Create access token</button>
      <p><output data-testid='new-token' class='secret'>{created}</output> {created !== '' && <button type='button' onClick={copy}>Copy token</button>}</p>
      <ul data-testid='token-list'>
        {live?.tokens.map(t => (
          <li key={t.id}>
            {t.id} — {t.revoked != null ? 'revoked' : t.usedBy != null ? `used by ${short(t.usedBy)}` : 'unused'}{' '}
            {t.revoked == null && <button type='button' aria-label={`Revoke token ${t.id}`} onClick={() => { revoke(t.id) }}>Revoke</button>}
          </li>
        ))}
      </ul>
    </Section>
  )
}

/** Registered clients with what the cafe keeps for each; the owner can remove one. */
export function Clients () {
  const { peer, live, refresh, say } = useDashboard()
  const remove = (address: string): void => {
    if (!confirm(`Remove ${short(address)}? Its sessions end and everything this cafe keeps for it (backups, snapshots, inbox, contact) is deleted.`)) return
    call(peer, 'DELETE', `/api/v0/clients/${encodeURIComponent(address)}`).then(() => { say(`Removed ${short(address)}.`); refresh() }, err => { say(errorText(err)) })
  }
  return (
    <Section id='client-table' title='Registered clients'>
      <div class='table-wrap'>
        <table>
          <thead><tr><th>Account</th><th>Peer</th><th>Registered</th><th>Last seen</th><th>Stored / quota</th><th>Pins</th><th>Snapshots</th><th>Inbox</th><th><span class='visually-hidden'>Actions</span></th></tr></thead>
          <tbody data-testid='client-list'>
            {live?.clients.map(c => (
              <tr key={c.address}>
                <td title={c.address}>{short(c.address)}</td><td title={c.peerId}>{short(c.peerId)}</td><td>{c.registered}</td><td>{c.lastSeen}</td>
                <td data-testid='client-bytes'>{mib(c.bytes)} / {mib(c.quota)}</td><td data-testid='client-pins'>{c.pins}</td><td data-testid='client-snapshots'>{c.snapshots}</td><td data-testid='client-inbox'>{c.inbox}</td>
                <td><button type='button' data-testid='remove-client' aria-label={`Remove client ${c.address}`} onClick={() => { remove(c.address) }}>Remove</button></td>
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
      <p>This browser: {mib(st.usage)} of {mib(st.quota)}</p>
      <Bar share={st.quota > 0 ? st.usage / st.quota : 0} label='Browser storage used' testId='storage-total' />
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
  const [editing, setEditing] = useState(false)
  const [shown, setShown] = useState<LiveData['settings']>()
  const [generation, setGeneration] = useState(0)
  useEffect(() => { if (!editing && live != null) setShown(live.settings) }, [editing, live?.settings])
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
    }).then(next => { setShown(next); setEditing(false); say('Settings saved.'); refresh() }, err => { say(`Settings not saved: ${errorText(err)}`) })
  }
  return (
    <Section id='settings-body'>
      {/* Keyed by the values shown: a change from elsewhere redraws the untouched form. */}
      <form key={`${generation}:${JSON.stringify(shown)}`} onSubmit={save} onInput={() => { setEditing(true) }}>
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
          {editing && <button type='button' onClick={() => { setEditing(false); setGeneration(g => g + 1) }}>Discard changes</button>}
        </div>
      </form>
    </Section>
  )
}
