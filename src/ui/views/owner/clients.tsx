import { ago, errorText, mib, short } from '../../format.ts'
import { call } from '../../local-api.ts'
import { useDashboard, useNow } from '../../live.ts'
import { Section, focusHeading } from '../section.tsx'
import type { LiveData } from '../../live.ts'

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
