import type { BackupRecord } from './backups.ts'
import type { CafeCheckRecord, CheckResult } from './checks.ts'

/** One cafe's care of this account's backups, as the health view shows it. */
export interface CafeHealth {
  id: string
  /** ok: its last check passed; failed: it lost or forged blocks, or answers nothing; checking; unchecked: none yet; ended: the session ended. */
  state: 'ok' | 'failed' | 'checking' | 'unchecked' | 'ended'
  /** Whether its last check reached it (null: never asked). */
  reachable: boolean | null
  lastContact: string | null
  lastCheck: CheckResult | null
  lastProof: string | null
  /** Bytes it said it keeps for this account (its last answer). */
  bytesHeld: number | null
  persistent: boolean | null
  /** This account's backups there: how many, and how many are pinned (a backfill's progress), with their bytes. */
  backups: { total: number, pinned: number, bytes: number, pinnedBytes: number }
  repaired: CafeCheckRecord['repaired'] | null
  problems: Array<{ reason: string, details: string }>
}

/** Something the person should do, in plain words, with what the view offers for it. */
export interface HealthWarning { reason: string, details: string, action: 'add-cafe' | 'check' | 'register-again', cafe?: string }

export interface BackupHealth {
  /** Cafes this account is registered with (sessions not ended). */
  cafes: number
  /** Distinct DAGs backed up. */
  backups: number
  /** The oldest of the cafes' last checks: "last checked 3 h ago" (null: some cafe never checked). */
  lastChecked: string | null
  perCafe: CafeHealth[]
  warnings: HealthWarning[]
}

export interface HealthInput {
  now: number
  silentMs: number
  sessions: Array<{ id: string, registered: string, ended?: { reason: string } }>
  backups: BackupRecord[]
  checks: CafeCheckRecord[]
  checking: (cafe: string) => boolean
}

/** The health view's content, from what this device knows (pure: the API and tests call it alike). */
export function backupHealth (input: HealthInput): BackupHealth {
  const { now, sessions } = input
  const checks = new Map(input.checks.map(c => [c.id, c]))
  const warnings: HealthWarning[] = []
  const perCafe = sessions.map((s): CafeHealth => {
    const c = checks.get(s.id)
    const mine = input.backups.filter(b => b.cafe === s.id)
    const pinned = mine.filter(b => b.status === 'pinned')
    const problems: CafeHealth['problems'] = []
    const last = c?.last ?? null
    if (last != null && !last.ok && last.reason != null) problems.push({ reason: last.reason, details: last.details ?? last.reason })
    if (c?.holdings != null && !c.holdings.persistent) problems.push({ reason: 'STORAGE_NOT_PERSISTENT', details: 'this cafe\'s browser has not made its storage persistent: it may evict what it keeps under storage pressure (checks would find it and upload it again)' })
    const silentSince = c?.lastContact ?? s.registered
    const silent = now - Date.parse(silentSince) >= input.silentMs && (c?.failures ?? 0) > 0
    if (silent) problems.push({ reason: 'CAFE_SILENT', details: `no answer since ${silentSince}` })
    for (const b of mine) if (b.status === 'failed' && b.error != null) problems.push({ reason: b.error.reason, details: `backup ${b.cid}: ${b.error.details}` })
    const state: CafeHealth['state'] = s.ended != null
      ? 'ended'
      : input.checking(s.id)
        ? 'checking'
        : last == null ? 'unchecked' : last.ok && !silent ? 'ok' : 'failed'
    if (s.ended != null) warnings.push({ reason: 'SESSION_ENDED', details: `the session with this cafe ended (${s.ended.reason}): nothing is backed up there until this device registers again with a new invitation`, action: 'register-again', cafe: s.id })
    else if (last != null && (last.reason === 'PROOF_FAILED' || last.reason === 'BLOCKS_LOST')) warnings.push({ reason: last.reason, details: last.reason === 'PROOF_FAILED' ? 'this cafe answered a check with data that is not yours: do not count on it; join another cafe' : `this cafe lost part of your backups (${last.missing} block(s)); they are being uploaded to it again`, action: last.reason === 'PROOF_FAILED' ? 'add-cafe' : 'check', cafe: s.id })
    else if (silent) warnings.push({ reason: 'CAFE_SILENT', details: 'this cafe has not answered for a day: it may be off or gone; check it now, or join another cafe', action: 'check', cafe: s.id })
    return {
      id: s.id,
      state,
      reachable: last == null ? null : last.reason !== 'CAFE_UNREACHABLE',
      lastContact: c?.lastContact ?? null,
      lastCheck: last,
      lastProof: c?.lastProof ?? null,
      bytesHeld: c?.holdings?.bytes ?? null,
      persistent: c?.holdings?.persistent ?? null,
      backups: { total: mine.length, pinned: pinned.length, bytes: mine.reduce((n, b) => n + (b.size ?? 0), 0), pinnedBytes: pinned.reduce((n, b) => n + (b.size ?? 0), 0) },
      repaired: c?.repaired ?? null,
      problems
    }
  })
  const active = perCafe.filter(c => c.state !== 'ended')
  const backups = new Set(input.backups.map(b => b.cid)).size
  if (active.length === 0) warnings.unshift({ reason: 'NO_CAFES', details: 'your backups are on no cafe: join one (open an invitation link from its owner)', action: 'add-cafe' })
  else if (active.length === 1) warnings.unshift({ reason: 'SINGLE_CAFE', details: 'all your backups rest on one cafe: if it loses them, nothing else has them. Join a second cafe (open an invitation link from another owner): it receives every backup by itself', action: 'add-cafe' })
  const checked = active.map(c => c.lastCheck?.at ?? null)
  const lastChecked = checked.length === 0 || checked.some(t => t == null) ? null : checked.reduce((a, b) => (a! < b! ? a : b))
  return { cafes: active.length, backups, lastChecked, perCafe, warnings }
}
