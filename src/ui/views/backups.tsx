import { useEffect, useState } from 'preact/hooks'
import { errorText, mib, short } from '../format.ts'
import { call, localFetch } from '../local-api.ts'
import { useDashboard } from '../live.ts'
import { Bar, Section } from './section.tsx'
import type { LiveData } from '../live.ts'

type BackupRow = LiveData['backups'][number]

/** My backups: add a file, and each DAG's state per cafe with a progress bar while it uploads. */
export function Backups () {
  const { peer, live, refresh, say } = useDashboard()
  const shown: BackupRow[] = live?.backups ?? []
  // While bytes are moving, read twice a second (the dashboard's own pace is 3 s). The one
  // reading of the dashboard, one at a time: bars never go back. A cafe that is unreachable
  // ("queued", retried with backoff) does not hurry it.
  const uploading = shown.some(b => b.cafes.some(c => c.status === 'pinning'))
  useEffect(() => {
    if (!uploading) return
    const t = setInterval(refresh, 500)
    return () => { clearInterval(t) }
  }, [uploading, refresh])
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
