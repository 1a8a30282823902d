import { openDB } from 'idb'
import { TypedEventEmitter } from 'main-event'
import { LightcafeError } from '../shared/errors.ts'
import { wantedBlocks } from './have-want.ts'
import { PROOF_LIMITS, pickBlocks, readProof } from './proofs.ts'
import type { BackupOutbox } from './backups.ts'
import type { CafeClient } from './cafe-client.ts'
import type { BlockRef } from '../ipfs/verify.ts'
import type { DBSchema, IDBPDatabase } from 'idb'

export const CHECK_TIMING = {
  /** Each cafe is asked have/want about every block it holds for this account this often (cheap: CIDs only). */
  auditEveryMs: 60 * 60_000,
  /** And proves random blocks this often (≤ 4 MiB each time). */
  proofEveryMs: 6 * 60 * 60_000,
  /** Checks a cafe may cost per day, on demand included. */
  maxAuditsPerDay: 48,
  maxProofsPerDay: 8,
  /** How often the schedule looks whether a check is due. */
  tickMs: 15_000,
  /** A page that just started waits this long before its first due check (start-up first). */
  firstDelayMs: 30_000,
  /** A cafe that has not answered for this long is "silent". */
  silentMs: 24 * 60 * 60_000
} as const

export type CheckTiming = { [K in keyof typeof CHECK_TIMING]: number }

/** What one check of one cafe came to. */
export interface CheckResult {
  at: string
  ms: number
  /** Whether random blocks were proven (else have/want only). */
  proof: boolean
  ok: boolean
  /** Blocks asked about (have/want), proven (came and matched), found missing, and forged (came and did not match). */
  audited: number
  proven: number
  missing: number
  forged: number
  /** Bytes of blocks the proof brought. */
  bytes: number
  /** Why it failed: BLOCKS_LOST, PROOF_FAILED, CAFE_UNREACHABLE, … */
  reason?: string
  details?: string
}

/** What this device keeps about each cafe's care of its backups. */
export interface CafeCheckRecord {
  id: string
  lastContact?: string
  lastAudit?: string
  lastProof?: string
  last?: CheckResult
  /** Checks in a row that failed (unreachable, lost or forged blocks). */
  failures: number
  /** What the cafe said it keeps for this account (GET /cafe/v1/storage). */
  holdings?: { bytes: number, pins: number, lost: number, unfinished: number, persistent: boolean, at: string }
  /** The last repair: blocks found missing there and queued again, in how many backups. */
  repaired?: { at: string, blocks: number, bytes: number, backups: number }
  /** Checks spent today (UTC day), against the daily bounds. */
  day: string
  audits: number
  proofs: number
}

interface ChecksDB extends DBSchema { cafes: { key: string, value: CafeCheckRecord } }

export interface ChecksInit {
  client: CafeClient
  outbox: BackupOutbox
  dbName: string
  now?: () => number
  timing?: Partial<CheckTiming>
}

/** What the checks tell: a check started or ended. */
export interface BackupChecksEvents { change: CustomEvent<void> }

/**
 * Proof of storage, from this device. Each cafe is checked from time to time and on demand:
 * asked have/want about every block of the DAGs it pins for this account (an honest cafe that
 * lost blocks names exactly those), and asked for a few blocks drawn at random, checked against
 * their CIDs (a cafe that answers for data it dropped is caught). Missing blocks are uploaded
 * again through the backup outbox (only those); forged ones mark the cafe failed. Bounded per
 * check (have/want: 1,024 CIDs a question; proof: 8 blocks, 4 MiB) and per day.
 */
export class BackupChecks extends TypedEventEmitter<BackupChecksEvents> {
  readonly #client: CafeClient
  readonly #outbox: BackupOutbox
  readonly #db: Promise<IDBPDatabase<ChecksDB>>
  readonly #now: () => number
  readonly #timing: CheckTiming
  readonly #running = new Map<string, Promise<CheckResult>>()
  #timer: ReturnType<typeof setTimeout> | undefined
  #stopped = false
  readonly #startedAt: number

  constructor (init: ChecksInit) {
    super()
    this.#client = init.client
    this.#outbox = init.outbox
    this.#now = init.now ?? Date.now
    this.#timing = { ...CHECK_TIMING, ...init.timing }
    this.#startedAt = this.#now()
    this.#db = openDB<ChecksDB>(init.dbName, 1, { upgrade (db) { db.createObjectStore('cafes', { keyPath: 'id' }) } })
  }

  /** Runs the schedule: each cafe checked when due (have/want hourly, a proof every 6 h), and again once a repair there is done. */
  start (): void {
    this.#stopped = false
    this.#tick()
  }

  stop (): void {
    this.#stopped = true
    clearTimeout(this.#timer)
  }

  #tick (): void {
    if (this.#stopped) return
    this.#timer = setTimeout(() => {
      this.#due().catch(() => {}).finally(() => { this.#tick() })
    }, this.#timing.tickMs)
  }

  async #due (): Promise<void> {
    const now = this.#now()
    if (now - this.#startedAt < this.#timing.firstDelayMs) return
    for (const s of await this.#client.list()) {
      if (s.ended != null || this.#running.has(s.id)) continue
      const r = await this.record(s.id)
      const since = (t?: string): number => t == null ? Infinity : now - Date.parse(t)
      // Jittered ±10 %: the cafe cannot time its answers to the schedule.
      const jitter = 0.9 + 0.2 * Math.random()
      const repairing = r.last?.reason === 'BLOCKS_LOST' && !(await this.#outbox.at(s.id)).some(b => b.status === 'queued' || b.status === 'pinning')
      const proof = since(r.lastProof) >= this.#timing.proofEveryMs * jitter
      if (proof || repairing || since(r.lastAudit) >= this.#timing.auditEveryMs * jitter) await this.check(s.id, { proof }).catch(() => {})
    }
  }

  async record (id: string): Promise<CafeCheckRecord> {
    return (await (await this.#db).get('cafes', id)) ?? { id, failures: 0, day: '', audits: 0, proofs: 0 }
  }

  async records (): Promise<CafeCheckRecord[]> { return (await this.#db).getAll('cafes') }

  /** Checks every cafe now (have/want and a proof), side by side. */
  async checkAll (): Promise<CheckResult[]> {
    const cafes = (await this.#client.list()).filter(s => s.ended == null).map(s => s.id)
    return Promise.all(cafes.map(async id => this.check(id, { proof: true })))
  }

  /** Checks one cafe now; one check per cafe at a time (a second call joins the first). */
  async check (cafe: string, opts: { proof?: boolean } = {}): Promise<CheckResult> {
    const running = this.#running.get(cafe)
    if (running != null) return running
    const run = this.#check(cafe, opts.proof !== false).finally(() => { this.#running.delete(cafe); this.safeDispatchEvent('change') })
    this.#running.set(cafe, run)
    this.safeDispatchEvent('change')
    return run
  }

  /** Whether a check of this cafe runs now. */
  checking (cafe: string): boolean { return this.#running.has(cafe) }

  async #check (cafe: string, wantProof: boolean): Promise<CheckResult> {
    const t0 = this.#now()
    const rec = await this.record(cafe)
    const day = new Date(t0).toISOString().slice(0, 10)
    if (rec.day !== day) Object.assign(rec, { day, audits: 0, proofs: 0 })
    const result: CheckResult = { at: new Date(t0).toISOString(), ms: 0, proof: false, ok: false, audited: 0, proven: 0, missing: 0, forged: 0, bytes: 0 }
    try {
      if (rec.audits >= this.#timing.maxAuditsPerDay) throw new LightcafeError('RATE_LIMITED', `${rec.audits} checks of this cafe today already; the next one tomorrow`)
      rec.audits++
      await this.#run(cafe, rec, result, wantProof && rec.proofs < this.#timing.maxProofsPerDay)
      rec.lastContact = new Date(this.#now()).toISOString()
    } catch (err) {
      const e = err instanceof LightcafeError ? err : new LightcafeError('CAFE_UNREACHABLE', (err as Error).message)
      result.reason = e.reason
      result.details = e.message
    }
    result.ms = this.#now() - t0
    if (result.reason !== 'RATE_LIMITED') {
      rec.lastAudit = result.at
      rec.failures = result.ok ? 0 : rec.failures + 1
    }
    if (result.proof) rec.lastProof = result.at
    rec.last = result
    await (await this.#db).put('cafes', rec)
    return result
  }

  async #run (cafe: string, rec: CafeCheckRecord, result: CheckResult, proof: boolean): Promise<void> {
    const api = this.#client.api(cafe)
    const holdings = await api.storage()
    rec.holdings = { bytes: Number(holdings.bytes) || 0, pins: Number(holdings.pins) || 0, lost: Array.isArray(holdings.lost) ? holdings.lost.length : 0, unfinished: Array.isArray(holdings.unfinished) ? holdings.unfinished.length : 0, persistent: holdings.persistent === true, at: new Date(this.#now()).toISOString() }
    // Every block of the DAGs this cafe pins for this account, once, and the DAGs holding each.
    const pinned = (await this.#outbox.at(cafe)).filter(r => r.status === 'pinned')
    const owners = new Map<string, string[]>()
    const blocks: BlockRef[] = []
    for (const r of pinned) {
      const dag = await this.#outbox.dagOf(r.cid).catch(() => undefined)
      for (const b of dag?.blocks ?? []) {
        const held = owners.get(b.cid)
        if (held == null) { owners.set(b.cid, [r.cid]); blocks.push(b) } else held.push(r.cid)
      }
    }
    const missing = new Set(await wantedBlocks(async cids => api.missing(cids), blocks) ?? [])
    result.audited = blocks.length
    if (proof && blocks.length > 0) {
      const asked = pickBlocks(blocks)
      const proof = await api.prove(asked.map(b => b.cid), { timeoutMs: PROOF_LIMITS.timeoutMs })
      // Undefined: the cafe's own bound on proofs, not a failure of its storage; have/want stands alone.
      if (proof != null) {
        const outcome = await readProof(proof, asked, AbortSignal.timeout(PROOF_LIMITS.timeoutMs))
        result.proof = true
        rec.proofs++
        result.proven = outcome.proven.length
        result.bytes = outcome.bytes
        result.forged = outcome.forged.length
        for (const c of outcome.missing) missing.add(c)
      }
    }
    result.missing = missing.size
    // The DAGs to upload again: those holding a missing block, and those the cafe says it lost.
    const damaged = new Set<string>()
    for (const c of missing) for (const d of owners.get(c) ?? []) damaged.add(d)
    for (const l of Array.isArray(holdings.lost) ? holdings.lost : []) if (pinned.some(r => r.cid === l.cid)) damaged.add(l.cid)
    if (result.forged > 0) {
      result.reason = 'PROOF_FAILED'
      result.details = `cafe ${cafe} answered a proof with ${result.forged} block(s) that do not match their CIDs: it does not hold what it claims`
    } else if (damaged.size > 0) {
      const bytes = blocks.filter(b => missing.has(b.cid)).reduce((n, b) => n + b.bytes, 0)
      const queued = await this.#outbox.repair(cafe, [...damaged], { reason: 'BLOCKS_LOST', details: `the cafe lost ${missing.size} block(s) of it; uploading them again` })
      rec.repaired = { at: result.at, blocks: missing.size, bytes, backups: queued }
      result.reason = 'BLOCKS_LOST'
      result.details = `cafe ${cafe} lost ${missing.size} block(s) (${bytes} bytes) of ${damaged.size} backup(s); uploading only those again`
    } else result.ok = true
  }
}
