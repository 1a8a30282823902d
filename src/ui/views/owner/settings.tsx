import { useEffect, useRef, useState } from 'preact/hooks'
import { errorText } from '../../format.ts'
import { call } from '../../local-api.ts'
import { useDashboard } from '../../live.ts'
import { Pending, Section } from '../section.tsx'
import type { LiveData } from '../../live.ts'

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
