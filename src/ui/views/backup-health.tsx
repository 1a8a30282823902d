import { useState } from 'preact/hooks'
import { ago, errorText, mib } from '../format.ts'
import { call } from '../local-api.ts'
import { useDashboard, useNow } from '../live.ts'
import { Bar, Pending, Section } from './section.tsx'
import { useCafeNames } from './my-cafes.tsx'
import type { BackupHealth, CafeHealth } from '../../client/index.ts'

const STATE_TEXT: Record<CafeHealth['state'], string> = {
  ok: 'keeps your backups (its last check passed)',
  failed: 'failed its last check',
  checking: 'being checked now…',
  unchecked: 'not checked yet',
  ended: 'session ended'
}

/**
 * Backup health, in words a person reads: on how many cafes the backups are, when they were
 * last checked, each cafe's state (reachable, last proof, bytes held, problems) and what to do
 * when all rests on one cafe or a cafe fails its checks or falls silent.
 */
export function BackupHealthView () {
  const { peer, live, refresh, say } = useDashboard()
  const now = useNow(30_000)
  const [busy, setBusy] = useState(false)
  const health = live?.health
  const names = useCafeNames(health?.perCafe.map(c => c.id) ?? [])
  const nameOf = (id: string): string => names[id] ?? `cafe ${id.slice(-6)}`
  const checkNow = (cafe?: string): void => {
    setBusy(true)
    say(cafe == null ? 'Checking every cafe…' : `Checking ${nameOf(cafe)}…`)
    call<BackupHealth>(peer, 'POST', '/api/v0/backups/check', cafe == null ? undefined : { cafe }).then(h => {
      const bad = h.perCafe.filter(c => c.state === 'failed')
      say(bad.length === 0 ? 'Checked: every cafe holds your backups.' : `Checked: ${bad.map(c => `${nameOf(c.id)} — ${c.lastCheck?.details ?? c.lastCheck?.reason ?? 'failed'}`).join('; ')}`)
      refresh()
    }, err => { say(`Check failed: ${errorText(err)}`) }).finally(() => { setBusy(false) })
  }
  if (health == null) return <Section id='backup-health' title='Backup health'><Pending /></Section>
  const summary = health.cafes === 0
    ? 'Your backups are on no cafe yet.'
    : `Your backups are on ${health.cafes} ${health.cafes === 1 ? 'cafe' : 'cafes'}, ${health.lastChecked == null ? 'not all checked yet' : `last checked ${ago(health.lastChecked, now)}`}.`
  return (
    <Section id='backup-health' title='Backup health'>
      <p data-testid='health-summary'>{summary}</p>
      {health.warnings.length > 0 && (
        <ul class='warnings' data-testid='health-warnings'>
          {health.warnings.map(w => (
            <li key={`${w.reason}-${w.cafe ?? ''}`} data-testid='health-warning' data-reason={w.reason}>
              {w.cafe != null && <strong>{nameOf(w.cafe)}: </strong>}{w.details}{' '}
              {w.action === 'add-cafe' && <a href='#my-cafes'>Join another cafe</a>}
              {w.action === 'register-again' && <a href='#my-cafes'>Register again</a>}
              {w.action === 'check' && <button type='button' disabled={busy} onClick={() => { checkNow(w.cafe) }}>Check {w.cafe != null ? nameOf(w.cafe) : 'now'}</button>}
            </li>
          ))}
        </ul>
      )}
      <ul class='plain' data-testid='health-cafes'>
        {health.perCafe.map(c => (
          <li key={c.id} data-testid='health-cafe' data-state={c.state} title={c.id}>
            <div><strong>{nameOf(c.id)}</strong> — {STATE_TEXT[c.state]}</div>
            <div>
              {c.reachable == null ? 'Not asked yet' : c.reachable ? `Reachable (last answer ${c.lastContact != null ? ago(c.lastContact, now) : '—'})` : 'Did not answer its last check'}
              {'; '}last proof {c.lastProof != null ? ago(c.lastProof, now) : 'not yet'}
              {c.bytesHeld != null && `; holds ${mib(c.bytesHeld)} for you`}
              {c.persistent === true && '; its storage is persistent'}
            </div>
            {c.backups.total > c.backups.pinned && (
              <div>
                <span>Receiving your backups: {c.backups.pinned} of {c.backups.total} ({mib(c.backups.pinnedBytes)} of {mib(c.backups.bytes)})</span>
                <Bar share={c.backups.bytes > 0 ? c.backups.pinnedBytes / c.backups.bytes : 0} label={`Backups on ${nameOf(c.id)}`} testId='health-backfill' />
              </div>
            )}
            {c.repaired != null && <div data-testid='health-repaired'>Repaired {ago(c.repaired.at, now)}: {c.repaired.blocks} lost block(s), {mib(c.repaired.bytes)}, uploaded to it again.</div>}
            {c.problems.length > 0 && <ul>{c.problems.map(p => <li key={p.reason + p.details}>{p.details}</li>)}</ul>}
          </li>
        ))}
      </ul>
      {health.cafes > 0 && <button type='button' data-testid='check-now' disabled={busy} onClick={() => { checkNow() }}>Check my backups now</button>}
    </Section>
  )
}
