import { useEffect, useState } from 'preact/hooks'
import { errorText, mib, short } from '../format.ts'
import { call, localFetch } from '../local-api.ts'
import { useDashboard } from '../live.ts'
import { ndjsonLines } from '../../shared/streams.ts'
import { Bar, Section } from './section.tsx'
import type { BackupProgressEvent } from '../../client/index.ts'
import type { LiveData } from '../live.ts'
import type { RunningPeer } from '../../peer/index.ts'

type BackupRow = LiveData['backups'][number]
/** A line of GET /api/v0/backups?stream=1: the list, then changes. */
type BackupLine = { type: 'backups', backups: BackupRow[] } | BackupProgressEvent

/** The rows after one line of the stream. */
function apply (rows: BackupRow[], line: BackupLine): BackupRow[] {
  if (line.type === 'backups') return line.backups
  const { cid } = line.detail
  const id = line.type === 'backup:progress' ? line.detail.cafe.id : line.detail.id
  const row = rows.find(b => b.cid === cid)
  const held = row?.cafes ?? []
  const cafes = line.type === 'backup:removed'
    ? held.filter(c => c.id !== id)
    : held.some(c => c.id === id) ? held.map(c => c.id === id ? line.detail.cafe : c) : [...held, line.detail.cafe]
  if (row == null) return cafes.length === 0 ? rows : [...rows, { cid, cafes }]
  return cafes.length === 0 ? rows.filter(b => b !== row) : rows.map(b => b === row ? { cid, cafes } : b)
}

/**
 * The backups as they change: the list, then each change streamed by the local API (no
 * polling); undefined until the first line. A stream that ends (the API bounds it in time) is opened again.
 */
function useStreamedBackups (peer: RunningPeer): BackupRow[] | undefined {
  const [rows, setRows] = useState<BackupRow[]>()
  useEffect(() => {
    const abort = new AbortController()
    const follow = async (): Promise<void> => {
      while (!abort.signal.aborted) {
        try {
          const res = await localFetch(peer, '/api/v0/backups?stream=1', { signal: abort.signal })
          if (!res.ok || res.body == null) throw new Error(`the backups stream answered ${res.status}`)
          for await (const line of ndjsonLines(res.body)) {
            if (abort.signal.aborted) return
            setRows(prev => apply(prev ?? [], line as BackupLine))
          }
        } catch {
          // The dashboard's own reading shows the list meanwhile.
          setRows(undefined)
        }
        await new Promise(resolve => setTimeout(resolve, 1_000))
      }
    }
    void follow()
    return () => { abort.abort() }
  }, [peer])
  return rows
}

/** My backups: add a file, and each DAG's state per cafe with a progress bar while it uploads. */
export function Backups () {
  const { peer, live, refresh, say } = useDashboard()
  // Each change (and each chunk of an upload) arrives as it happens: no polling.
  const streamed = useStreamedBackups(peer)
  const shown: BackupRow[] = streamed ?? live?.backups ?? []
  const [busy, setBusy] = useState(false)
  const add = (e: Event): void => {
    const input = e.currentTarget as HTMLInputElement
    const file = input.files?.[0]
    if (file == null) return
    setBusy(true)
    say(`Encrypting and adding ${file.name}…`)
    void (async () => {
      const res = await localFetch(peer, '/api/v0/files', { method: 'POST', body: file })
      const added = await res.json()
      if (!res.ok) throw new Error(`${added?.error?.reason ?? res.status}: ${added?.error?.details ?? ''}`)
      await call(peer, 'POST', '/api/v0/backups', { cid: added.cid })
      say(`${file.name} (${mib(added.bytes)}) is queued for backup on your cafes.`)
      refresh()
    })().catch(err => { say(`Backup failed: ${errorText(err)}`) }).finally(() => { setBusy(false); input.value = '' })
  }
  return (
    <Section id='backup-list' title='My backups'>
      <label for='backup-file'>Back up a file (encrypted before it leaves this device)</label>
      <input id='backup-file' data-testid='backup-file' type='file' disabled={busy} onChange={add} />
      <ul class='plain' data-testid='backup-list'>
        {shown.map(b => (
          <li key={b.cid} data-testid='backup' title={b.cid}>
            <div>{short(b.cid)}</div>
            {b.cafes.map(c => {
              const share = c.status === 'pinned' ? 1 : c.sent != null && c.size != null && c.size > 0 ? c.sent / c.size : 0
              return (
                <div key={c.id} class='backup-state'>
                  <span>{short(c.id)} {c.status}{c.sent != null ? ` (${mib(c.sent)}${c.size != null ? ` of ${mib(c.size)}` : ''} sent)` : ''}{c.error != null ? ` — ${c.error.reason}: ${c.error.details}` : ''}</span>
                  <Bar share={share} label={`Backup of ${short(b.cid)} at ${short(c.id)}`} testId='backup-progress' />
                </div>
              )
            })}
          </li>
        ))}
      </ul>
      {shown.length === 0 && <p>Nothing backed up yet.</p>}
    </Section>
  )
}
