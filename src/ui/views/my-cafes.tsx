import { Fragment } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import { errorText, short } from '../format.ts'
import { call } from '../local-api.ts'
import { useDashboard } from '../live.ts'
import { fetchName, knownName } from '../cafe-names.ts'
import { Details, Section, focusHeading } from './section.tsx'
import type { LiveData } from '../live.ts'
import { PATH_WORDS } from '../path-words.ts'

/** How this peer reaches a cafe right now: the health line of a session. */
function reach (conns: LiveData['conns'], cafe: string): string {
  const mine = conns.filter(c => c.peerId === cafe)
  // The best path open: a straight one first, the relay last.
  const best = (['direct', 'nat', 'turn', 'relay'] as const).find(p => mine.some(c => c.path === p))
  if (best == null) return 'not connected (dials when needed)'
  return PATH_WORDS[best]
}

/** My cafes: register with one, each session's state and health, leave one. */
export function MyCafes ({ invitation, joined }: { invitation?: { cafe: string, token: string }, joined?: { cafe: string, text: string } }) {
  const { peer, live, refresh, say } = useDashboard()
  const names = useCafeNames(live?.cafes.map(s => s.id) ?? [])
  const welcome = useRef<HTMLDivElement>(null)
  useEffect(() => { if (joined != null) welcome.current?.focus() }, [joined])
  const register = (e: Event): void => {
    e.preventDefault()
    const form = e.currentTarget as HTMLFormElement
    const f = new FormData(form)
    say('Registering…')
    call(peer, 'POST', '/api/v0/cafes', { cafe: String(f.get('cafe')).trim(), token: String(f.get('token')).trim() }).then(() => {
      say('Registered.')
      ;(form.elements.namedItem('token') as HTMLInputElement).value = ''
      refresh()
    }, err => { say(errorText(err)) })
  }
  const leave = (id: string): void => {
    if (!confirm(`Leave the cafe ${short(id)}? It deletes what it keeps for this account there: backups, snapshots, waiting messages.`)) return
    const forget = (force: boolean): void => {
      call(peer, 'DELETE', `/api/v0/cafes/${encodeURIComponent(id)}${force ? '?force=true' : ''}`).then(() => {
        say(force ? `Forgot ${short(id)} on this device (the cafe was not told).` : `Left ${short(id)}.`)
        refresh()
        focusHeading('cafe-list')
      }, err => {
        // A cafe gone for good would hold this device's session for ever: offer to drop it here only.
        if (!force && errorText(err).startsWith('CAFE_UNREACHABLE') && confirm(`${short(id)} cannot be reached. Forget it on this device only?`)) { forget(true); return }
        say(`Not left: ${errorText(err)}`)
      })
    }
    forget(false)
  }
  const inbox = live?.inbox
  const cafes = live?.cafes ?? []
  const nameOf = (id: string): string => names[id] ?? `Cafe ${short(id)}`
  return (
    <Section id='my-cafes'>
      {joined != null && (
        // The guest's landing: what happened and what to do next, in plain words.
        <div class='welcome' data-testid='joined' tabIndex={-1} ref={welcome}>
          <p><strong>{joined.text}</strong></p>
          <p><a href='#backups'>Back up a file</a> · <a href='#messages'>Send a message</a></p>
        </div>
      )}
      <h3 id='cafe-list-h' tabIndex={-1}>Registered with</h3>
      {live?.cafes.length === 0 && <p>No cafe yet: open the invitation link from a cafe's screen (or scan its QR code with this device's camera), or enter its peer id and token below.</p>}
      <ul data-testid='cafe-list'>
        {cafes.map(s => (
          <li key={s.id} title={s.id}>
            <bdi>{nameOf(s.id)}</bdi> — {s.ended != null ? `ended (${s.ended.reason}): register again with a new token` : `signed in, renews by itself until ${new Date(s.rexp).toLocaleDateString()}`}{' '}
            <button type='button' aria-label={`Deregister from ${s.id}`} onClick={() => { leave(s.id) }}>Deregister</button>
          </li>
        ))}
      </ul>
      {cafes.length > 0 && (
        <Details testId='cafes-details'>
          <dl>
            {cafes.map(s => <Fragment key={s.id}>
              <dt><bdi>{nameOf(s.id)}</bdi></dt>
              <dd>{s.id}{s.ended == null && live != null && <><br /><span data-testid='cafe-health'>{reach(live.conns, s.id)}</span></>}</dd>
            </Fragment>)}
          </dl>
        </Details>
      )}
      <p data-testid='unread'>{inbox == null ? '' : `Messages: ${inbox.unread} unread of ${inbox.received}${inbox.outbox > 0 ? `, ${inbox.outbox} waiting to be delivered` : ''}`}</p>
      <h3 id='register-h'>Join a cafe by hand</h3>
      {/* Keyed by a failed invitation, so its cafe and token fill the form for another try. */}
      <form data-testid='register-form' onSubmit={register} key={invitation?.token} aria-labelledby='register-h'>
        <label for='cafe-addr'>Cafe peer id or address</label>
        <input id='cafe-addr' name='cafe' required autocomplete='off' placeholder='12D3Koo… or /ip4/…/p2p/…' maxLength={512} defaultValue={invitation?.cafe} />
        <label for='cafe-token'>Access token</label>
        <input id='cafe-token' name='token' required autocomplete='off' maxLength={128} defaultValue={invitation?.token} />
        <button type='submit'>Register</button>
      </form>
    </Section>
  )
}

/** Names of these cafes: remembered ones at once, the others asked of each cafe once per page. */
export function useCafeNames (ids: string[]): Record<string, string> {
  const { peer } = useDashboard()
  const [names, setNames] = useState<Record<string, string>>({})
  const asked = useRef(new Set<string>())
  const key = ids.join(',')
  useEffect(() => {
    for (const id of ids) {
      const known = knownName(id)
      if (known != null) setNames(n => n[id] === known ? n : { ...n, [id]: known })
      if (asked.current.has(id)) continue
      asked.current.add(id)
      void fetchName(peer, id).then(name => { if (name != null) setNames(n => ({ ...n, [id]: name })) })
    }
  }, [key])
  return names
}
