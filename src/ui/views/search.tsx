import { useEffect, useRef, useState } from 'preact/hooks'
import { errorText, short } from '../format.ts'
import { localFetch } from '../local-api.ts'
import { useDashboard } from '../live.ts'
import { Section } from './section.tsx'
import { ndjsonLines } from '../../shared/streams.ts'

interface Found { address: string, name: string }

/** Search: results appear as each cafe answers (an NDJSON stream from the local API). */
export function Search ({ active }: { active: boolean }) {
  const { peer, compose } = useDashboard()
  const [results, setResults] = useState<Found[]>([])
  const [state, setState] = useState('')
  const [busy, setBusy] = useState(false)
  // A new search stops the last one: its late answers must not land in the new list.
  const running = useRef<AbortController>()
  useEffect(() => () => { running.current?.abort() }, [])
  // The box is open (the view is shown, not just rendered hidden): dial the cafes now, while
  // the user types (a cold query waits on those dials). Never at page load: that would dial
  // every cafe a relay lists from every page.
  useEffect(() => {
    if (!active) return
    void localFetch(peer, '/api/v0/search/warm', { method: 'POST' }).then(async r => { await r.body?.cancel() }).catch(() => {})
  }, [active])
  const search = (e: Event): void => {
    e.preventDefault()
    const name = String(new FormData(e.currentTarget as HTMLFormElement).get('name')).trim()
    running.current?.abort()
    const abort = new AbortController()
    running.current = abort
    const mine = (): boolean => running.current === abort
    setResults([])
    setBusy(true)
    setState('Asking the cafes…')
    void (async () => {
      const res = await localFetch(peer, `/api/v0/search?stream=1&wait=3000&name=${encodeURIComponent(name)}`, { signal: abort.signal })
      if (!res.ok || res.body == null) { if (mine()) setState(`Search failed: ${(await res.json().catch(() => null))?.error?.details ?? res.status}`); return }
      const seen = new Set<string>()
      for await (const line of ndjsonLines(res.body)) {
        if (!mine()) break
        if (line.done === true) {
          setState(line.error != null ? `Search failed: ${line.error.details}` : `${line.results.length} found; ${line.answered.length} of ${line.asked} cafes answered in ${line.ms} ms`)
          continue
        }
        const added = ((line.added ?? []) as Found[]).filter(c => !seen.has(c.address))
        for (const c of added) seen.add(c.address)
        if (added.length > 0) setResults(r => [...r, ...added])
      }
    })().catch(err => { if (mine()) setState(`Search failed: ${errorText(err)}`) }).finally(() => { if (mine()) setBusy(false) })
  }
  return (
    <Section id='find'>
      <form role='search' onSubmit={search}>
        <label for='search-name'>Name</label>
        <input type='search' id='search-name' name='name' data-testid='search-name' maxLength={64} autocomplete='off' required />
        <div class='actions'><button type='submit' disabled={busy}>Search</button></div>
      </form>
      <p data-testid='search-state' role='status'>{state}</p>
      <ul data-testid='search-results' class='plain results'>
        {results.map(c => (
          <li key={c.address} data-testid='search-result' title={c.address}>
            {/* Names come from strangers: isolated, so one cannot reverse the text after it. */}
            <bdi>{c.name}</bdi> — <span class='secret'>{short(c.address)}</span>{' '}
            <button type='button' aria-label={`Write to ${c.name}`} onClick={() => { compose(c.address) }}>Message</button>
          </li>
        ))}
      </ul>
    </Section>
  )
}
