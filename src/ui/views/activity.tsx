import { useEffect, useRef, useState } from 'preact/hooks'
import { ACTIVITY_KINDS } from '../../cafe/activity.ts'
import { clock, errorText, short } from '../format.ts'
import { call } from '../local-api.ts'
import { useDashboard } from '../live.ts'
import { Section } from './section.tsx'
import type { Activity, ActivityKind } from '../../cafe/activity.ts'

/** Each kind as the filter lists it and as one entry names it. */
const LABELS: Record<ActivityKind, [string, string]> = {
  registration: ['Registrations', 'registration'],
  pin: ['Pins', 'pin'],
  snapshot: ['Snapshots', 'snapshot'],
  delivery: ['Deliveries', 'delivery'],
  collect: ['Inbox collections', 'inbox collection'],
  contact: ['Contacts', 'contact'],
  query: ['Search queries', 'search query']
}

/** The live activity log: what the cafe API was asked, filtered by kind and text; it follows the cafe while its view is open. */
export function ActivityLogView ({ active }: { active: boolean }) {
  const { peer, say } = useDashboard()
  const [kind, setKind] = useState<ActivityKind | ''>('')
  const [text, setText] = useState('')
  const [rows, setRows] = useState<Activity[]>([])
  const [counts, setCounts] = useState<Record<string, number>>({})
  const pending = useRef<ReturnType<typeof setTimeout>>()
  useEffect(() => {
    if (!active) return
    // Answers for an older filter (typing fast) are dropped, not drawn over newer ones.
    let current = true
    const load = (): void => {
      const q = new URLSearchParams({ limit: '50' })
      if (kind !== '') q.set('kind', kind)
      if (text !== '') q.set('q', text)
      call<{ entries: Activity[], counts: Record<string, number> }>(peer, 'GET', `/api/v0/activity?${q.toString()}`)
        .then(r => { if (current) { setRows(r.entries); setCounts(r.counts) } }, err => { say(errorText(err)) })
    }
    // A burst of requests (an outbox flushing 200 messages) redraws once per 250 ms.
    const soon = (): void => { pending.current ??= setTimeout(() => { pending.current = undefined; load() }, 250) }
    peer.activity.addEventListener('activity', soon)
    load()
    return () => { current = false; peer.activity.removeEventListener('activity', soon); clearTimeout(pending.current); pending.current = undefined }
  }, [peer, kind, text, active])
  return (
    <Section id='activity-log'>
      <form class='inline' role='search' onSubmit={e => { e.preventDefault() }}>
        <label for='activity-kind'>Show</label>
        <select id='activity-kind' data-testid='activity-kind' value={kind} onChange={e => { setKind((e.currentTarget as HTMLSelectElement).value as ActivityKind | '') }}>
          <option value=''>Everything</option>
          {ACTIVITY_KINDS.map(k => <option key={k} value={k}>{LABELS[k][0]} ({counts[k] ?? 0})</option>)}
        </select>
        <label for='activity-text'>containing</label>
        <input id='activity-text' data-testid='activity-text' type='search' maxLength={64} value={text} onInput={e => { setText((e.currentTarget as HTMLInputElement).value) }} />
      </form>
      <ol class='log' data-testid='activity-list' aria-live='off'>
        {rows.map(a => (
          <li key={a.seq} data-testid='activity-entry' data-kind={a.kind} class={a.status >= 400 ? 'refused' : undefined}>
            <time dateTime={a.at}>{clock(a.at)}</time> {LABELS[a.kind][1]}: {a.what} → {a.status}{a.who != null ? ` from ${short(a.who)}` : ''} ({a.ms} ms)
          </li>
        ))}
      </ol>
      {rows.length === 0 && <p>Nothing yet{kind !== '' || text !== '' ? ' that matches' : ''}.</p>}
    </Section>
  )
}
