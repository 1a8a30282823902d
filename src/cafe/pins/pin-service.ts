import { multiaddr } from '@multiformats/multiaddr'
import { blockKey, cidOfKey } from '../../ipfs/blocks.ts'
import { parseCid } from '../../ipfs/gateway.ts'
import { BLOCK_LIMITS, BlockRejectedError, links, openCar, verifiedCarBlocks } from '../../ipfs/verify.ts'
import { randomBytes, toBase64url } from '../../shared/bytes.ts'
import { BodyTooLargeError } from '../../shared/streams.ts'
import { InvalidInputError, LightcafeError, NotFoundError } from '../../shared/errors.ts'
import { BodyIdleError, ClientRemovedError, TooManyUploadsError } from './errors.ts'
import { abortable, guarded } from './guarded.ts'
import { PinLedger, QuotaExceededError } from './ledger.ts'
import { PinIndex } from './pin-index.ts'
import type { PinRecord, PinState, PinStore } from './pin-store.ts'
import type { Blocks } from '../../ipfs/blocks.ts'
import type { BlockRef } from './ledger.ts'
import type { CID } from 'multiformats/cid'

export const PIN_LIMITS = {
  /** The Pinning Service API's own bounds on a pin object. */
  maxNameLength: 255,
  maxOrigins: 20,
  maxOriginLength: 1024,
  /** meta is the client's; 4 KiB of JSON carries an encrypted file record with room to spare. */
  maxMetaBytes: 4096,
  /** Pins one client may hold: bounds the records a client can make the cafe keep. */
  maxPinsPerClient: 10_000,
  /** The spec's default and maximum page sizes. */
  defaultLimit: 10,
  maxLimit: 1000,
  maxCidFilter: 10,
  /** A pull from one source that takes longer is abandoned and the next source tried. */
  fetchTimeoutMs: 10 * 60_000,
  /**
   * Uploads, and separately pulls, one client may run at once: each holds a reservation of up
   * to its DAG's size, so a few are plenty for one device and a flood costs little. More
   * uploads are refused (TOO_MANY_UPLOADS, retried); more pulls wait their turn, queued.
   */
  maxActivePerClient: 2,
  /** An upload or pull body silent this long is aborted (a stalled sender holds a reservation). */
  idleMs: 30_000,
  /**
   * A pull's CAR may carry, besides the new bytes the quota has left, each block the client
   * already holds once (they cost nothing) and the CAR's framing: this slack over both bounds
   * a source that repeats free blocks, which no reservation would stop.
   */
  pullSlackBytes: 1024 * 1024
} as const

/** The limits a test or a cafe may tighten. */
export interface PinLimits { fetchTimeoutMs: number, maxActivePerClient: number, idleMs: number, pullSlackBytes: number }

/** Where a pull may fetch a DAG: a connected peer (the caller) or the pin's origins. */
export interface PinSource { peer?: string, addrs: string[] }

/**
 * Fetches a CAR of the DAG under `root` from a source (the trustless gateway over libp2p in the
 * app). `maxBytes` is what this pull may legitimately bring; the service cuts a longer body
 * there itself, a fetcher should stop reading at it too.
 */
export type CarFetcher = (source: PinSource, root: CID, signal: AbortSignal, opts?: { maxBytes: number }) => Promise<AsyncIterable<Uint8Array>>

/** The Pinning Service API's PinStatus object. */
export interface PinStatus {
  requestid: string
  status: PinState
  created: string
  pin: { cid: string, name?: string, origins: string[], meta: Record<string, string> }
  delegates: string[]
  info: Record<string, string>
}

export interface PinClient { address: string, peerId: string }

export interface PinServiceInit {
  blocks: Blocks
  store: PinStore
  /** The client's quota in bytes (owner-settable). */
  quota: (address: string) => Promise<number>
  fetchCar?: CarFetcher
  /** The cafe's multiaddrs, given as delegates (peers to connect to for a pin). */
  delegates?: () => string[]
  now?: () => number
  limits?: Partial<PinLimits>
}

function field (name: string, v: unknown, max: number): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max) throw new InvalidInputError('INVALID_FIELD', `${name} must be a string of 1 to ${max} characters`)
  return v
}

/** Validates a Pinning Service API pin object. */
export function parsePinObject (body: Record<string, unknown>): { cid: CID, name?: string, origins: string[], meta: Record<string, string> } {
  const cid = parseCid(field('cid', body.cid, 256))
  const name = body.name === undefined ? undefined : field('name', body.name, PIN_LIMITS.maxNameLength)
  const origins = body.origins === undefined ? [] : body.origins
  if (!Array.isArray(origins) || origins.length > PIN_LIMITS.maxOrigins) throw new InvalidInputError('INVALID_FIELD', `origins must be an array of at most ${PIN_LIMITS.maxOrigins} multiaddrs`)
  for (const o of origins) originPeer(o)
  return { cid, name, origins: origins as string[], meta: parseMeta(body.meta) }
}

/**
 * The peer an origin names. An origin is only ever used for its peer id: the cafe reaches that
 * peer through its own libp2p transports (its relays, WebRTC), never by dialling the address's
 * host, so a stranger's pin cannot make a cafe tab open connections to hosts on its LAN.
 */
export function originPeer (origin: unknown): string {
  let peer: string | undefined
  try { peer = multiaddr(field('origin', origin, PIN_LIMITS.maxOriginLength)).getComponents().findLast(c => c.name === 'p2p')?.value } catch {
    throw new InvalidInputError('INVALID_ORIGIN', `not a multiaddr: ${String(origin).slice(0, 100)}`)
  }
  if (peer == null || peer === '') throw new InvalidInputError('INVALID_ORIGIN', `an origin must end with /p2p/<peer id>: ${String(origin).slice(0, 100)}`)
  return peer
}

export function parseMeta (meta: unknown): Record<string, string> {
  if (meta === undefined || meta === null) return {}
  if (typeof meta !== 'object' || Array.isArray(meta) || !Object.values(meta).every(v => typeof v === 'string')) {
    throw new InvalidInputError('INVALID_FIELD', 'meta must be an object of string values')
  }
  if (new TextEncoder().encode(JSON.stringify(meta)).byteLength > PIN_LIMITS.maxMetaBytes) throw new InvalidInputError('META_TOO_LARGE', `meta is limited to ${PIN_LIMITS.maxMetaBytes} bytes of JSON`)
  return { ...meta as Record<string, string> }
}

/**
 * The cafe's pinning: pins per client, blocks verified against their CIDs as they arrive,
 * shared blocks stored once and counted for every client that pins them, quotas, and
 * garbage collection of blocks no pin holds. Pins arrive two ways: a CAR upload (the client
 * pushes the DAG) or a Pinning Service API request the cafe fulfils by pulling the DAG from
 * the caller or the pin's origins.
 *
 * Crash safety: blocks are written before the pin record that holds them, and a pin record
 * is one IndexedDB write; at start every stored block no pin holds is deleted, so a tab
 * killed mid-upload leaves neither a half pin nor orphan blocks.
 *
 * Isolation: a pin counts only blocks its client supplied (in this upload or pull, verified,
 * or held by its own earlier pins). A block another client stored is never lent: pinning a
 * CID only someone else has answers exactly as for a CID nobody has.
 *
 * Bounds: every ingest reserves its bytes in the ledger before writing them; uploads and
 * pulls run at most `maxActivePerClient` at a time per client and abort on an idle body.
 */
export class PinService {
  readonly ready: Promise<void>
  readonly #blocks: Blocks
  readonly #store: PinStore
  readonly #quota: (address: string) => Promise<number>
  readonly #fetchCar?: CarFetcher
  readonly #delegates: () => string[]
  readonly #now: () => number
  readonly #ledger = new PinLedger()
  readonly #pins = new PinIndex()
  /** Blocks written by ingests still running: GC and failed ingests must not delete them. */
  readonly #inflight = new Map<string, number>()
  readonly #pulls = new Map<string, AbortController>()
  /** Pulls waiting for a free slot, per client, in order. */
  readonly #waiting = new Map<string, Array<{ requestid: string, peer?: string }>>()
  /** Uploads and pulls running, per client: counted against the limit, aborted by a removal. */
  readonly #running = new Map<string, Set<{ kind: 'upload' | 'pull', abort: AbortController, done: Promise<unknown> }>>()
  /** A replaced pin's blocks stay held until its replacement settles: new requestid -> old. */
  readonly #replacing = new Map<string, string>()
  readonly #limits: PinLimits
  readonly #changed = new Set<(address: string) => void>()

  constructor (init: PinServiceInit) {
    this.#blocks = init.blocks
    this.#store = init.store
    this.#quota = init.quota
    this.#fetchCar = init.fetchCar
    this.#delegates = init.delegates ?? (() => [])
    this.#now = init.now ?? Date.now
    this.#limits = { ...PIN_LIMITS, ...init.limits }
    this.ready = this.#start()
  }

  async #start (): Promise<void> {
    const records = await this.#store.all()
    for (const r of records) {
      this.#pins.set(r)
      this.#lastCreated = Math.max(this.#lastCreated, Date.parse(r.created))
      if (r.status === 'pinned') this.#ledger.commit({ requestid: r.requestid, address: r.address, cid: r.cid, blocks: r.blocks }, Infinity)
    }
    await this.collectGarbage()
    for (const r of records) if (r.status === 'queued' || r.status === 'pinning') this.#schedule(r.requestid)
  }

  /** Deletes every stored block that no pin holds and no running ingest wrote. Returns how many. */
  async collectGarbage (): Promise<number> {
    const doomed: CID[] = []
    for await (const cid of this.#blocks.keys()) {
      const key = cid.toString()
      if (!this.#ledger.isHeld(key) && !this.#inflight.has(key)) doomed.push(cid)
    }
    for (const cid of doomed) if (!this.#ledger.isHeld(cid.toString()) && !this.#inflight.has(cid.toString())) await this.#blocks.delete(cid)
    return doomed.length
  }

  /** Called with the client's address whenever its pins change (for the owner's views). */
  onChange (fn: (address: string) => void): void { this.#changed.add(fn) }

  #emit (address: string): void { for (const fn of this.#changed) fn(address) }

  usage (address: string): { bytes: number, pins: number } {
    let pins = 0
    for (const p of this.#pins.ofClient(address)) if (p.status === 'pinned') pins++
    return { bytes: this.#ledger.usage(address), pins }
  }

  /** A block this client's pins hold, for it to read back (recovery); undefined otherwise. */
  async read (address: string, cid: CID): Promise<Uint8Array | undefined> {
    await this.ready
    return this.#ledger.holds(address, blockKey(cid)) ? this.#blocks.get(cid) : undefined
  }

  view (r: PinRecord): PinStatus {
    const info: Record<string, string> = { bytes: String(r.bytes) }
    if (r.error != null) { info.reason = r.error.reason; info.details = r.error.details }
    const delegates = this.#delegates()
    return {
      requestid: r.requestid,
      status: r.status,
      created: r.created,
      pin: { cid: r.cid, ...(r.name != null ? { name: r.name } : {}), origins: r.origins, meta: r.meta },
      delegates,
      info
    }
  }

  #own (address: string, requestid: string): PinRecord {
    const r = this.#pins.get(requestid)
    // Another client's pin is reported as absent: its existence is not the caller's business.
    if (r == null || r.address !== address) throw new NotFoundError('PIN_NOT_FOUND', `no pin ${requestid.slice(0, 64)}`)
    return r
  }

  #newRecord (address: string, pin: { cid: CID, name?: string, origins: string[], meta: Record<string, string> }, status: PinState): PinRecord {
    if (this.#pins.countOf(address) >= PIN_LIMITS.maxPinsPerClient) throw new LightcafeError('TOO_MANY_PINS', `a client may hold at most ${PIN_LIMITS.maxPinsPerClient} pins`, 413)
    return {
      requestid: toBase64url(randomBytes(16)),
      address,
      cid: pin.cid.toString(),
      ...(pin.name != null ? { name: pin.name } : {}),
      origins: pin.origins,
      meta: pin.meta,
      status,
      created: this.#created(),
      blocks: [],
      bytes: 0
    }
  }

  // The spec pages by `created`, so no two pins may share one: a millisecond clock, kept increasing.
  #lastCreated = 0
  #created (): string {
    this.#lastCreated = Math.max(this.#now(), this.#lastCreated + 1)
    return new Date(this.#lastCreated).toISOString()
  }

  async get (address: string, requestid: string): Promise<PinStatus> {
    await this.ready
    return this.view(this.#own(address, requestid))
  }

  /** The Pinning Service API's list, with its filters; newest first. */
  async list (address: string, q: URLSearchParams): Promise<{ count: number, results: PinStatus[] }> {
    await this.ready
    const csv = (k: string): string[] | undefined => q.get(k)?.split(',').map(s => s.trim()).filter(s => s !== '')
    // The spec: "when no filter is provided, only successful pins are returned"; any filter
    // (cid, name, before, after, meta) without a status searches every status.
    const filtered = ['cid', 'name', 'before', 'after', 'meta'].some(k => q.get(k) != null)
    const statuses = csv('status') ?? (filtered ? ['queued', 'pinning', 'pinned', 'failed'] : ['pinned'])
    for (const s of statuses) if (!['queued', 'pinning', 'pinned', 'failed'].includes(s)) throw new InvalidInputError('INVALID_STATUS', `unknown status ${s.slice(0, 20)}`)
    const cids = csv('cid')?.map(c => parseCid(c).toString())
    if (cids != null && cids.length > PIN_LIMITS.maxCidFilter) throw new InvalidInputError('INVALID_FIELD', `at most ${PIN_LIMITS.maxCidFilter} cids per query`)
    const limitText = q.get('limit')
    const limit = limitText == null ? PIN_LIMITS.defaultLimit : Number(limitText)
    if (!Number.isInteger(limit) || limit < 1 || limit > PIN_LIMITS.maxLimit) throw new InvalidInputError('INVALID_FIELD', `limit must be 1 to ${PIN_LIMITS.maxLimit}`)
    const time = (k: string): number | undefined => {
      const v = q.get(k)
      if (v == null) return undefined
      const t = Date.parse(v)
      if (Number.isNaN(t)) throw new InvalidInputError('INVALID_FIELD', `${k} must be an ISO-8601 time`)
      return t
    }
    const before = time('before')
    const after = time('after')
    const name = q.get('name')
    const match = q.get('match') ?? 'exact'
    if (!['exact', 'iexact', 'partial', 'ipartial'].includes(match)) throw new InvalidInputError('INVALID_FIELD', 'match must be exact, iexact, partial or ipartial')
    let meta: Record<string, string> | undefined
    if (q.get('meta') != null) {
      try { meta = parseMeta(JSON.parse(q.get('meta')!)) } catch (err) {
        if (err instanceof LightcafeError) throw err
        throw new InvalidInputError('INVALID_FIELD', 'meta must be a JSON object of strings')
      }
    }
    const nameOk = (n: string | undefined): boolean => {
      if (name == null) return true
      if (n == null) return false
      switch (match) {
        case 'exact': return n === name
        case 'iexact': return n.toLowerCase() === name.toLowerCase()
        case 'partial': return n.includes(name)
        default: return n.toLowerCase().includes(name.toLowerCase())
      }
    }
    const hits = this.#pins.ofClient(address).filter(p =>
      statuses.includes(p.status) &&
      (cids == null || cids.includes(p.cid)) &&
      (before == null || Date.parse(p.created) < before) &&
      (after == null || Date.parse(p.created) > after) &&
      nameOk(p.name) &&
      (meta == null || Object.entries(meta).every(([k, v]) => p.meta[k] === v)))
    hits.sort((a, b) => b.created.localeCompare(a.created) || b.requestid.localeCompare(a.requestid))
    return { count: hits.length, results: hits.slice(0, limit).map(p => this.view(p)) }
  }

  /** A Pinning Service API request: queued now, then pulled from the caller or the origins. */
  async create (client: PinClient, body: Record<string, unknown>, replaces?: string): Promise<PinStatus> {
    await this.ready
    const record = this.#newRecord(client.address, parsePinObject(body), 'queued')
    if (replaces != null) record.replaces = replaces
    await this.#store.put(record)
    this.#pins.set(record)
    if (replaces != null) {
      this.#replacing.set(record.requestid, replaces)
      await this.#forget(replaces)
    }
    const answer = this.view(record) // as created: the pull starts changing the record at once
    this.#schedule(record.requestid, client.peerId)
    this.#emit(client.address)
    return answer
  }

  /**
   * Replaces a pin (the spec: remove and add in one step). The old requestid is gone at once;
   * its blocks stay held until the new pin is pinned or failed, so shared blocks are not
   * dropped and fetched again.
   */
  async replace (client: PinClient, requestid: string, body: Record<string, unknown>): Promise<PinStatus> {
    await this.ready
    this.#own(client.address, requestid)
    return this.create(client, body, requestid)
  }

  /** Removes a pin; blocks no other pin holds are deleted. */
  async remove (address: string, requestid: string): Promise<void> {
    await this.ready
    const r = this.#own(address, requestid)
    await this.#forget(requestid)
    await this.#settleReplaced(requestid)
    await this.#free(this.#ledger.release(requestid))
    this.#emit(r.address)
  }

  /** Ends a pin's pull and deletes its record (its blocks are the caller's business). */
  async #forget (requestid: string): Promise<void> {
    this.#pulls.get(requestid)?.abort(new LightcafeError('PIN_REMOVED', 'the pin was removed', 409))
    await this.#store.delete(requestid)
    this.#pins.delete(requestid)
  }

  /** The pin `requestid` replaced (if any) lets its blocks go: the replacement settled. */
  async #settleReplaced (requestid: string): Promise<void> {
    const old = this.#replacing.get(requestid)
    if (old == null) return
    this.#replacing.delete(requestid)
    await this.#free(this.#ledger.release(old))
  }

  /**
   * Forgets every pin of a client (it was removed or left): its uploads and pulls are aborted
   * and awaited first, so none of them can commit a pin afterwards.
   */
  async removeAll (address: string): Promise<void> {
    this.#waiting.delete(address)
    const running = [...(this.#running.get(address) ?? [])]
    for (const op of running) op.abort.abort(new ClientRemovedError())
    await Promise.allSettled(running.map(async op => op.done))
    await this.ready
    for (const r of this.#pins.ofClient(address)) await this.remove(address, r.requestid)
  }

  /** Runs an upload or pull in the client's running set (counted, abortable by a removal). */
  async #track<T> (address: string, kind: 'upload' | 'pull', abort: AbortController, work: () => Promise<T>): Promise<T> {
    const set = this.#running.get(address) ?? new Set()
    this.#running.set(address, set)
    const done = work()
    const op = { kind, abort, done }
    set.add(op)
    try {
      return await done
    } finally {
      set.delete(op)
      if (set.size === 0) this.#running.delete(address)
    }
  }

  #active (address: string, kind: 'upload' | 'pull'): number {
    let n = 0
    for (const op of this.#running.get(address) ?? []) if (op.kind === kind) n++
    return n
  }

  async #free (keys: string[]): Promise<void> {
    for (const key of keys) if (!this.#ledger.isHeld(key) && !this.#inflight.has(key)) await this.#blocks.delete(cidOfKey(key))
  }

  /**
   * A CAR upload: every block verified as it streams in and written once; the pin exists,
   * pinned, when the whole DAG under the CAR's single root is here and within the quota.
   * Anything else (forged block, over quota, incomplete DAG, broken stream) leaves nothing.
   */
  async upload (client: PinClient, car: AsyncIterable<Uint8Array>, opts: { name?: string, meta?: Record<string, string> } = {}): Promise<PinStatus> {
    if (this.#active(client.address, 'upload') >= this.#limits.maxActivePerClient) throw new TooManyUploadsError(this.#limits.maxActivePerClient)
    const abort = new AbortController()
    return this.#track(client.address, 'upload', abort, async () => {
      await this.ready
      const ingest = this.#ingest(client.address)
      let stopped: Error | undefined // the CAR reader hides why its source failed (INVALID_CAR)
      const body = guarded(car, abort.signal, this.#limits.idleMs, () => (stopped = new BodyIdleError('UPLOAD_IDLE', this.#limits.idleMs)))
      try {
        const { roots, blocks } = await openCar(body)
        if (roots.length !== 1) throw new InvalidInputError('CAR_ROOTS', 'the CAR must have exactly one root: the DAG to pin')
        const root = roots[0]
        const record = this.#newRecord(client.address, { cid: root, name: opts.name, origins: [], meta: opts.meta ?? {} }, 'pinning')
        await ingest.take(blocks, await this.#quota(client.address))
        const dag = await ingest.walk(root)
        if (dag.missing.length > 0) throw new InvalidInputError('DAG_INCOMPLETE', `the CAR lacks ${dag.missing.length} block(s) of ${root.toString()}, e.g. ${dag.missing[0]}`)
        await this.#commit(record, dag.blocks, ingest, abort.signal)
        return this.view(record)
      } catch (err) {
        throw stopped ?? (abort.signal.aborted ? abort.signal.reason : err)
      } finally {
        // The CAR reader does not end its source when it stops early: end the body here.
        await body.return(undefined).catch(() => {})
        await ingest.end()
      }
    })
  }

  async #commit (record: PinRecord, blocks: BlockRef[], ingest: Ingest, signal: AbortSignal): Promise<void> {
    const quota = await this.#quota(record.address)
    signal.throwIfAborted()
    // The ledger's check is the definitive one: synchronous, so two racing pins cannot both pass.
    this.#ledger.commit({ requestid: record.requestid, address: record.address, cid: record.cid, blocks }, quota, ingest.reserved())
    ingest.committed()
    const pinned: PinRecord = { ...record, status: 'pinned', blocks, bytes: blocks.reduce((n, b) => n + b.bytes, 0) }
    delete pinned.error
    try {
      await this.#store.put(pinned)
      // Removed meanwhile (the client, or this pin): the record must not outlive it.
      signal.throwIfAborted()
    } catch (err) {
      await this.#store.delete(record.requestid).catch(() => {})
      await this.#free(this.#ledger.release(record.requestid))
      throw err
    }
    this.#pins.set(pinned)
    Object.assign(record, pinned)
    await this.#settleReplaced(record.requestid)
    this.#emit(record.address)
  }

  /**
   * One ingest: verified blocks reserved then written, the DAG walked over what this client
   * supplied, and cleanup of what no pin took. Every block it saw is marked in flight (written
   * here or found stored), so a concurrent unpin elsewhere cannot delete it under this ingest.
   */
  #ingest (address: string): Ingest {
    const marked = new Set<string>()
    const seen = new Map<string, { bytes: number, links: CID[] }>()
    let reserved = 0
    const mark = (key: string): void => {
      if (marked.has(key)) return
      marked.add(key)
      this.#inflight.set(key, (this.#inflight.get(key) ?? 0) + 1)
    }
    return {
      reserved: () => reserved,
      committed: () => { reserved = 0 },
      take: async (source, quota) => {
        for await (const { cid, bytes } of source) {
          const key = blockKey(cid)
          if (seen.has(key)) continue
          const cost = this.#ledger.cost(address, [{ cid: key, bytes: bytes.byteLength }])
          // Reserved before it is stored: what is in flight counts against the quota.
          if (cost > 0) { this.#ledger.reserve(address, cost, quota); reserved += cost }
          seen.set(key, { bytes: bytes.byteLength, links: links(cid, bytes) })
          mark(key)
          if (!(await this.#blocks.has(cid))) await this.#blocks.put(cid, bytes)
        }
      },
      walk: async (root) => {
        const blocks: BlockRef[] = []
        const missing: string[] = []
        const done = new Set<string>()
        const stack: CID[] = [root]
        while (stack.length > 0) {
          const cid = stack.pop()!
          const key = blockKey(cid)
          if (done.has(key)) continue
          done.add(key)
          if (done.size > BLOCK_LIMITS.maxDagBlocks) throw new BlockRejectedError('DAG_TOO_LARGE', `the DAG has more than ${BLOCK_LIMITS.maxDagBlocks} blocks`)
          let node = seen.get(key)
          // Blocks this client's own pins hold count; another client's never do.
          if (node == null && this.#ledger.holds(address, key)) {
            mark(key)
            const bytes = await this.#blocks.get(cid)
            if (bytes != null) node = { bytes: bytes.byteLength, links: links(cid, bytes) }
          }
          if (node == null) { missing.push(cid.toString()); continue }
          blocks.push({ cid: key, bytes: node.bytes })
          stack.push(...node.links)
        }
        return { blocks, missing }
      },
      end: async () => {
        this.#ledger.unreserve(address, reserved)
        reserved = 0
        for (const key of marked) {
          const n = (this.#inflight.get(key) ?? 1) - 1
          if (n > 0) this.#inflight.set(key, n)
          else this.#inflight.delete(key)
        }
        await this.#free([...marked])
      }
    }
  }

  /** Queues a pull; it starts when the client has a free slot. */
  #schedule (requestid: string, peer?: string): void {
    const r = this.#pins.get(requestid)
    if (r == null || this.#pulls.has(requestid)) return
    const queue = this.#waiting.get(r.address) ?? []
    if (!queue.some(q => q.requestid === requestid)) queue.push({ requestid, ...(peer != null ? { peer } : {}) })
    this.#waiting.set(r.address, queue)
    this.#pump(r.address)
  }

  #pump (address: string): void {
    const queue = this.#waiting.get(address) ?? []
    while (queue.length > 0 && this.#active(address, 'pull') < this.#limits.maxActivePerClient) {
      const { requestid, peer } = queue.shift()!
      if (!this.#pins.has(requestid) || this.#pulls.has(requestid)) continue
      const abort = new AbortController()
      this.#pulls.set(requestid, abort)
      this.#track(address, 'pull', abort, async () => this.#pull(requestid, peer, abort.signal))
        .catch(() => {}) // recorded on the pin
        .finally(() => { this.#pulls.delete(requestid); this.#pump(address) })
    }
    if (queue.length === 0) this.#waiting.delete(address)
  }

  async #setState (r: PinRecord, status: PinState, error?: { reason: string, details: string }): Promise<void> {
    if (!this.#pins.has(r.requestid)) return
    r.status = status
    if (error != null) r.error = error
    else delete r.error
    await this.#store.put(r)
    this.#emit(r.address)
  }

  /** The bytes one pull's CAR may have: the quota left to new blocks, the client's own (free) blocks once, and slack for framing. */
  #pullCap (address: string, quota: number): number {
    const used = this.#ledger.usage(address)
    const left = Math.max(0, quota - used - this.#ledger.reserved(address))
    return left + used + this.#limits.pullSlackBytes
  }

  /** Fulfils a queued pin: blocks this client holds, else from the caller's peer, else from each origin's peer. */
  async #pull (requestid: string, peer: string | undefined, signal: AbortSignal): Promise<void> {
    const r = this.#pins.get(requestid)
    if (r == null) return
    await this.#setState(r, 'pinning')
    const root = parseCid(r.cid)
    const ingest = this.#ingest(r.address)
    try {
      let dag = await ingest.walk(root)
      const sources: PinSource[] = [...(peer != null && peer !== '' ? [{ peer, addrs: [] }] : []), ...r.origins.map(a => ({ peer: originPeer(a), addrs: [a] }))]
      let lastError: unknown
      for (const source of sources) {
        if (dag.missing.length === 0 || this.#fetchCar == null) break
        const one = AbortSignal.any([signal, AbortSignal.timeout(this.#limits.fetchTimeoutMs)])
        let body: AsyncGenerator<Uint8Array> | undefined
        try {
          const quota = await this.#quota(r.address)
          const maxBytes = this.#pullCap(r.address, quota)
          const fetched = this.#fetchCar(source, root, one, { maxBytes })
          // A body that arrives after the abort is closed, not left open.
          fetched.then(car => { if (one.aborted) void car[Symbol.asyncIterator]().return?.() }, () => {})
          body = guarded(await abortable(fetched, one), one, this.#limits.idleMs, () => new BodyIdleError('PULL_IDLE', this.#limits.idleMs))
          await ingest.take(verifiedCarBlocks(capped(body, maxBytes, `the CAR of ${r.cid}`)), quota)
        } catch (err) {
          if (err instanceof QuotaExceededError || signal.aborted) throw err
          lastError = err // this source failed; the next may have it
        } finally {
          await body?.return(undefined).catch(() => {})
        }
        dag = await ingest.walk(root)
      }
      if (dag.missing.length > 0) {
        const why = lastError instanceof Error ? ` (last source: ${lastError.message})` : ''
        throw new LightcafeError('MISSING_BLOCKS', `${dag.missing.length} block(s) of ${r.cid} could not be fetched from the caller or the origins${why}`, 502)
      }
      await this.#commit(r, dag.blocks, ingest, signal)
    } catch (err) {
      await this.#settleReplaced(requestid)
      const e = err instanceof LightcafeError ? err : new LightcafeError('PIN_FAILED', (err as Error).message, 500)
      await this.#setState(r, 'failed', { reason: e.reason, details: e.message })
      throw err
    } finally {
      await ingest.end()
    }
  }
}

/** `chunks`, cut with BODY_TOO_LARGE once they pass `maxBytes`. */
async function * capped (chunks: AsyncIterable<Uint8Array>, maxBytes: number, what: string): AsyncGenerator<Uint8Array> {
  let size = 0
  for await (const c of chunks) {
    size += c.byteLength
    if (size > maxBytes) throw new BodyTooLargeError(maxBytes, what)
    yield c
  }
}

/** An ingest in progress (see #ingest). */
interface Ingest {
  take: (blocks: AsyncIterable<{ cid: CID, bytes: Uint8Array }>, quota: number) => Promise<void>
  walk: (root: CID) => Promise<{ blocks: BlockRef[], missing: string[] }>
  /** Bytes it holds reserved in the ledger. */
  reserved: () => number
  /** Its reservation became the pin's usage. */
  committed: () => void
  end: () => Promise<void>
}
