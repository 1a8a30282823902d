import { useEffect, useRef, useState } from 'preact/hooks'
import { errorText, mib, short } from '../format.ts'
import { localFetch } from '../local-api.ts'
import { useDashboard } from '../live.ts'
import { ndjsonLines } from '../../shared/streams.ts'
import { refusalError } from '../../shared/errors.ts'
import { Bar, Section } from './section.tsx'
import type { RecoveryProgress } from '../../client/index.ts'

/** Recovery: rebuild threads and files from a cafe's backups (a new device after a restore). */
export function Recovery () {
  const { peer, live, refresh, say } = useDashboard()
  const [cafe, setCafe] = useState('')
  const [p, setP] = useState<RecoveryProgress>()
  const cafes = (live?.cafes ?? []).filter(s => s.ended == null)
  const chosen = cafe !== '' ? cafe : cafes[0]?.id ?? ''
  const stop = useRef<() => void>()
  useEffect(() => () => { stop.current?.() }, [])
  const start = (e: Event): void => {
    e.preventDefault()
    if (chosen === '') return
    const path = `/api/v0/cafes/${encodeURIComponent(chosen)}/recover?stream=1`
    stop.current?.()
    // The progress arrives as lines of JSON while the recovery runs (no polling); the last is its outcome.
    const abort = new AbortController()
    stop.current = () => { abort.abort() }
    say('Recovering…')
    void (async () => {
      const res = await localFetch(peer, path, { method: 'POST', signal: abort.signal })
      if (!res.ok || res.body == null) {
        throw refusalError(res.status, await res.json().catch(() => null))
      }
      let done: RecoveryProgress | undefined
      for await (const line of ndjsonLines(res.body)) {
        if (abort.signal.aborted) return
        done = line as RecoveryProgress
        setP(done)
      }
      if (done == null) throw new Error('the recovery ended without an outcome')
      say(done.state === 'done' ? 'Recovery finished.' : `Recovery failed: ${done.error?.details ?? ''}`)
      refresh()
    })().catch(err => {
      if (abort.signal.aborted) return
      setP(prev => prev == null ? prev : { ...prev, state: 'failed', error: { reason: 'RECOVERY_FAILED', details: errorText(err) } })
      say(`Recovery failed: ${errorText(err)}`)
    })
  }
  return (
    <Section id='recovery' title='Recover from a cafe'>
      <form class='inline' onSubmit={start}>
        <label for='recover-cafe'>Cafe</label>
        <select id='recover-cafe' data-testid='recover-cafe' value={chosen} onChange={e => { setCafe((e.currentTarget as HTMLSelectElement).value) }}>
          {cafes.map(s => <option key={s.id} value={s.id}>{short(s.id)}</option>)}
        </select>
        <button type='submit' data-testid='recover' disabled={chosen === '' || p?.state === 'running'}>Recover my data</button>
      </form>
      <div data-testid='recovery'>
        {p == null
          ? <p>{cafes.length === 0 ? 'On a new device: restore your recovery phrase (Profile), register with your cafe (My cafes), then recover here.' : 'Fetches every backup and thread this account keeps at the cafe and checks each block.'}</p>
          : <>
            <p data-testid='recovery-state'>{p.state}: {p.dagsDone} of {p.dags} backups, {p.files} files, {p.threads.length} threads, {p.blocks} blocks ({mib(p.bytes)}{p.totalBytes > 0 ? ` of ${mib(p.totalBytes)}` : ''}){p.error != null ? ` — ${p.error.details}` : ''}</p>
            <Bar share={p.state === 'done' ? 1 : p.totalBytes > 0 ? p.bytes / p.totalBytes : p.dags > 0 ? p.dagsDone / p.dags : 0} label='Recovery progress' testId='recovery-progress' />
          </>}
      </div>
    </Section>
  )
}
