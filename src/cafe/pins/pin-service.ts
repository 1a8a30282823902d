import { TypedEventEmitter } from 'main-event'
import { blockKey } from '../../ipfs/blocks.ts'
import { parseCid } from '../../ipfs/cid.ts'
import { exportBlocksCar } from '../../ipfs/car.ts'
import { openCar } from '../../ipfs/verify.ts'
import { randomBytes, toBase64url } from '../../shared/bytes.ts'
import { BodyTooLargeError } from '../../shared/streams.ts'
import { InvalidInputError, LightcafeError, NotFoundError } from '../../shared/errors.ts'
import { BodyIdleError, ClientRemovedError, TooManyUploadsError, UploadTimeoutError } from './errors.ts'
import { BlockCollector } from './gc.ts'
import { capped, guarded } from './guarded.ts'
import { Ingest } from './ingest.ts'
import { PinLedger } from './ledger.ts'
import { PIN_LIMITS } from './limits.ts'
import { originPeer, pinMatcher, pinStatus } from './pin-request.ts'
import { PinWork, pullMissing } from './pulls.ts'
import { PinIndex } from './pin-index.ts'
import { LostBlocks } from './lost.ts'
import { UnfinishedUploads } from './unfinished.ts'
import type { PinLimits } from './limits.ts'
import type { PinFilter, PinObject, PinStatus } from './pin-request.ts'
import type { PinRecord, PinState, PinStore } from './pin-store.ts'
import type { CarFetcher, PinSource } from './pulls.ts'
import type { Blocks } from '../../ipfs/blocks.ts'
import type { BlockRef } from './ledger.ts'
import type { AbortOptions } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'

// The service's parts, each in its own module: Pinning Service API parsing (pin-request.ts),
// one ingest (ingest.ts), garbage collection (gc.ts), running work and pulls (pulls.ts).
export { PIN_LIMITS } from './limits.ts'
export type { PinLimits } from './limits.ts'
export { originPeer, parseMeta, parseMetaJson, parsePinObject, parsePinQuery } from './pin-request.ts'
export type { PinFilter, PinObject, PinStatus } from './pin-request.ts'
export type { CarFetcher, PinSource } from './pulls.ts'

export interface PinClient { address: string, peerId: string }

/** What a cafe keeps for one client, as the client checks it (`GET /cafe/v1/storage`). */
export interface ClientHoldings {
  /** Bytes its pins and unfinished uploads hold (shared blocks counted for it). */
  bytes: number
  /** Pins whole as far as the cafe knows. */
  pins: number
  /** Pins whose blocks the cafe found missing from its storage. */
  lost: Array<{ requestid: string, cid: string, blocks: number, at: string }>
  /** Uploads cut before their DAG was whole, kept to be resumed until `expires`. */
  unfinished: Array<{ cid: string, bytes: number, blocks: number, updated: string, expires: string }>
}

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

/** What the pins tell: a client's pins changed (with its address), for the owner's views. */
export interface PinServiceEvents { change: CustomEvent<string> }

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
export class PinService extends TypedEventEmitter<PinServiceEvents> {
  readonly ready: Promise<void>
  readonly #blocks: Blocks
  readonly #store: PinStore
  readonly #quota: (address: string) => Promise<number>
  readonly #fetchCar?: CarFetcher
  readonly #delegates: () => string[]
  readonly #now: () => number
  readonly #ledger = new PinLedger()
  readonly #gc: BlockCollector
  readonly #pins = new PinIndex()
  /** Uploads and pulls running, per client, and the pulls waiting for a slot. */
  readonly #work: PinWork
  /** A replaced pin's blocks stay held until its replacement settles: new requestid -> old. */
  readonly #replacing = new Map<string, string>()
  readonly #limits: PinLimits
  /** Uploads cut before their DAG was whole, kept to be resumed. */
  readonly #unfinished: UnfinishedUploads
  /** Blocks pins hold that the store lost. */
  readonly #lost: LostBlocks

  constructor (init: PinServiceInit) {
    super()
    this.#blocks = init.blocks
    this.#store = init.store
    this.#quota = init.quota
    this.#fetchCar = init.fetchCar
    this.#delegates = init.delegates ?? (() => [])
    this.#now = init.now ?? Date.now
    this.#limits = { ...PIN_LIMITS, ...init.limits }
    this.#gc = new BlockCollector(this.#blocks, this.#ledger)
    this.#unfinished = new UnfinishedUploads({ store: this.#store, ledger: this.#ledger, ttlMs: this.#limits.unfinishedTtlMs, now: this.#now, free: async keys => this.#free(keys) })
    this.#lost = new LostBlocks({ store: this.#store, pins: this.#pins, blocks: this.#blocks, now: this.#now, changed: address => { this.#emit(address) } })
    this.#work = new PinWork({ maxActive: this.#limits.maxActivePerClient, pull: async (id, peer, signal) => this.#pull(id, peer, signal), exists: id => this.#pins.has(id) })
    this.ready = this.#start()
  }

  async #start (): Promise<void> {
    const records = await this.#store.all()
    for (const r of records) {
      this.#pins.set(r)
      this.#lastCreated = Math.max(this.#lastCreated, Date.parse(r.created))
      if (r.status === 'pinned') this.#ledger.commit({ requestid: r.requestid, address: r.address, cid: r.cid, blocks: r.blocks }, Infinity)
    }
    for (const b of await this.#store.batches()) this.#unfinished.restore(b)
    await this.#unfinished.sweep()
    // One pass over the store: what no pin holds goes, and every held block found is marked,
    // so the pins whose blocks are gone (an evicted or wiped store) are known at once.
    const mark = this.#now()
    await this.#gc.collect({ mark })
    await this.#lost.atStart(new Set(this.#ledger.unseen(mark)))
    for (const r of records) if (r.status === 'queued' || r.status === 'pinning') this.#schedule(r.requestid)
  }

  /** Deletes every stored block that no pin holds and no running ingest wrote. Returns how many. */
  async collectGarbage (options: AbortOptions = {}): Promise<number> { return this.#gc.collect(options) }

  #emit (address: string): void { this.safeDispatchEvent('change', { detail: address }) }

  /** A client's pinned data: bytes held for it, pins whole, pins with lost blocks. */
  usage (address: string): { bytes: number, pins: number, lost: number } {
    let pins = 0
    let lost = 0
    for (const p of this.#pins.ofClient(address)) {
      if (p.status !== 'pinned') continue
      if (p.lost != null) lost++
      else pins++
    }
    return { bytes: this.#ledger.usage(address), pins, lost }
  }

  /**
   * A block this client's pins hold, for it to read back (recovery, proofs); undefined
   * otherwise. A held block the store no longer has is recorded as lost on the pins holding it.
   */
  async read (address: string, cid: CID, options: AbortOptions = {}): Promise<Uint8Array | undefined> {
    await this.ready
    options.signal?.throwIfAborted()
    const key = blockKey(cid)
    if (!this.#ledger.holds(address, key)) return undefined
    const bytes = await this.#blocks.get(cid)
    if (bytes == null) await this.#lost.found(address, [key])
    return bytes
  }

  /**
   * The have/want exchange: which of `cids` this cafe does not hold for this client, checked
   * in its store (so a lost block is wanted again, and recorded as lost). Blocks only another
   * client stored are wanted too: a client counts only what it supplied.
   */
  async missing (address: string, cids: CID[], options: AbortOptions = {}): Promise<CID[]> {
    await this.ready
    if (cids.length > PIN_LIMITS.maxMissingQuery) throw new InvalidInputError('INVALID_FIELD', `ask about at most ${PIN_LIMITS.maxMissingQuery} blocks at once`)
    const out: CID[] = []
    const lost: string[] = []
    for (const cid of cids) {
      options.signal?.throwIfAborted()
      const key = blockKey(cid)
      if (!this.#ledger.holds(address, key)) { out.push(cid); continue }
      if (await this.#blocks.has(cid)) continue
      out.push(cid)
      lost.push(key)
    }
    if (lost.length > 0) await this.#lost.found(address, lost)
    return out
  }

  /**
   * A proof of storage: a CAR (no root) of those of `cids` this client's pins hold, read from
   * the store as asked; any missing is left out (and recorded as lost). The client chose them
   * at random and checks each against its CID.
   */
  async prove (address: string, cids: CID[], options: AbortOptions = {}): Promise<AsyncGenerator<Uint8Array>> {
    await this.ready
    if (cids.length === 0 || cids.length > PIN_LIMITS.maxProofBlocks) throw new InvalidInputError('INVALID_FIELD', `a proof asks for 1 to ${PIN_LIMITS.maxProofBlocks} blocks`)
    const read = async (cid: CID): Promise<Uint8Array | undefined> => this.read(address, cid, options)
    return exportBlocksCar([], (async function * () {
      for (const cid of cids) {
        const bytes = await read(cid)
        if (bytes != null) yield { cid, bytes }
      }
    })())
  }

  /** What this cafe keeps for a client, lost blocks and unfinished uploads included. */
  async holdings (address: string, options: AbortOptions = {}): Promise<ClientHoldings> {
    await this.ready
    options.signal?.throwIfAborted()
    await this.#unfinished.sweep()
    const { bytes, pins } = this.usage(address)
    const lost = this.#pins.ofClient(address).flatMap(p => p.status === 'pinned' && p.lost != null ? [{ requestid: p.requestid, cid: p.cid, blocks: p.lost.count, at: p.lost.at }] : [])
    return { bytes, pins, lost, unfinished: this.#unfinished.of(address) }
  }

  /** Drops a client's unfinished upload of a root: its blocks go now rather than when it expires. */
  async dropUnfinished (address: string, root: string): Promise<void> { await this.#unfinished.drop(address, root) }

  view (r: PinRecord): PinStatus { return pinStatus(r, this.#delegates()) }

  #own (address: string, requestid: string): PinRecord {
    const r = this.#pins.get(requestid)
    // Another client's pin is reported as absent: its existence is not the caller's business.
    if (r == null || r.address !== address) throw new NotFoundError('PIN_NOT_FOUND', `no pin ${requestid.slice(0, 64)}`)
    return r
  }

  #newRecord (address: string, pin: PinObject, status: PinState): PinRecord {
    if (this.#pins.countOf(address) >= PIN_LIMITS.maxPinsPerClient) throw new LightcafeError('TOO_MANY_PINS', `a client may hold at most ${PIN_LIMITS.maxPinsPerClient} pins`)
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

  async get (address: string, requestid: string, options: AbortOptions = {}): Promise<PinStatus> {
    await this.ready
    options.signal?.throwIfAborted()
    return this.view(this.#own(address, requestid))
  }

  /** The Pinning Service API's list, with its filters (checked at the route: `parsePinQuery`); newest first. */
  async list (address: string, filter: PinFilter, options: AbortOptions = {}): Promise<{ count: number, results: PinStatus[] }> {
    await this.ready
    options.signal?.throwIfAborted()
    const matches = pinMatcher(filter)
    const hits = this.#pins.ofClient(address).filter(p => matches(p))
    hits.sort((a, b) => b.created.localeCompare(a.created) || b.requestid.localeCompare(a.requestid))
    return { count: hits.length, results: hits.slice(0, filter.limit).map(p => this.view(p)) }
  }

  /** A Pinning Service API request (its pin object checked at the route: `parsePinObject`): queued now, then pulled from the caller or the origins (`signal` covers the queuing, not the pull). */
  async create (client: PinClient, pin: PinObject, options: AbortOptions & { replaces?: string } = {}): Promise<PinStatus> {
    const { replaces } = options
    await this.ready
    options.signal?.throwIfAborted()
    const record = this.#newRecord(client.address, pin, 'queued')
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
  async replace (client: PinClient, requestid: string, pin: PinObject, options: AbortOptions = {}): Promise<PinStatus> {
    await this.ready
    this.#own(client.address, requestid)
    return this.create(client, pin, { signal: options.signal, replaces: requestid })
  }

  /** Removes a pin; blocks no other pin holds are deleted. */
  async remove (address: string, requestid: string, options: AbortOptions = {}): Promise<void> {
    await this.ready
    options.signal?.throwIfAborted()
    const r = this.#own(address, requestid)
    await this.#forget(requestid)
    await this.#settleReplaced(requestid)
    await this.#free(this.#ledger.release(requestid))
    this.#emit(r.address)
  }

  /** Ends a pin's pull and deletes its record (its blocks are the caller's business). */
  async #forget (requestid: string): Promise<void> {
    this.#work.abortPull(requestid, new LightcafeError('PIN_REMOVED', 'the pin was removed'))
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
  async removeAll (address: string, options: AbortOptions = {}): Promise<void> {
    options.signal?.throwIfAborted()
    await this.#work.stopAll(address, new ClientRemovedError())
    await this.ready
    for (const r of this.#pins.ofClient(address)) await this.remove(address, r.requestid)
    await this.#unfinished.dropAll(address)
  }

  async #free (keys: string[]): Promise<void> { await this.#gc.free(keys) }

  /**
   * A CAR upload: every block verified as it streams in and written once; the pin exists,
   * pinned, when the whole DAG under the CAR's single root is here and within the quota.
   * Anything else (forged block, over quota, incomplete DAG, broken stream) leaves nothing.
   */
  async upload (client: PinClient, car: AsyncIterable<Uint8Array>, opts: AbortOptions & { name?: string, meta?: Record<string, string> } = {}): Promise<PinStatus> {
    opts.signal?.throwIfAborted()
    if (this.#work.active(client.address, 'upload') >= this.#limits.maxActivePerClient) throw new TooManyUploadsError(this.#limits.maxActivePerClient)
    const abort = new AbortController()
    // The caller giving up aborts the upload: what was stored by then is kept, as for a cut body.
    const onAbort = (): void => { abort.abort(opts.signal?.reason) }
    opts.signal?.addEventListener('abort', onAbort, { once: true })
    try {
      return await this.#uploading(client, car, opts, abort)
    } finally {
      opts.signal?.removeEventListener('abort', onAbort)
    }
  }

  async #uploading (client: PinClient, car: AsyncIterable<Uint8Array>, opts: { name?: string, meta?: Record<string, string> }, abort: AbortController): Promise<PinStatus> {
    return this.#work.track(client.address, 'upload', abort, async () => {
      await this.ready
      await this.#unfinished.sweep()
      const ingest = this.#ingest(client.address)
      // Bounded as a pull is: the bytes its quota and the client's own blocks allow, and a total time.
      const quota = await this.#quota(client.address)
      const maxBytes = this.#transferCap(client.address, quota)
      const ms = Math.max(this.#limits.uploadMs, maxBytes / this.#limits.uploadMinBytesPerS * 1000)
      const timer = setTimeout(() => { abort.abort(new UploadTimeoutError(ms)) }, ms)
      let stopped: Error | undefined // the CAR reader hides why its source failed (INVALID_CAR)
      let cut = false // the body itself broke: what arrived is kept for the next upload of this root
      const body = guarded(capped(watched(car, () => { cut = true }), maxBytes, () => (stopped = new BodyTooLargeError(maxBytes, 'the upload'))), abort.signal, this.#limits.idleMs, () => (stopped = new BodyIdleError('UPLOAD_IDLE', this.#limits.idleMs)))
      let root: CID | undefined
      let finished: (() => void) | undefined
      try {
        const { roots, blocks } = await openCar(body)
        if (roots.length !== 1) throw new InvalidInputError('CAR_ROOTS', 'the CAR must have exactly one root: the DAG to pin')
        const dagRoot = root = roots[0]
        finished = this.#unfinished.running(client.address, dagRoot.toString())
        ingest.keepIn(async (refs, cost) => this.#unfinished.keep(client.address, dagRoot.toString(), refs, cost))
        await ingest.take(blocks, quota)
        const dag = await ingest.walk(dagRoot)
        if (dag.missing.length > 0) throw new InvalidInputError('DAG_INCOMPLETE', `the CAR lacks ${dag.missing.length} block(s) of ${dagRoot.toString()}, e.g. ${dag.missing[0]} (ask POST /cafe/v1/blocks/missing which to send)`)
        // This device's pin of the root already (a repair, or an answer lost): it is whole again, not doubled.
        const held = this.#pins.ofClient(client.address).find(p => p.status === 'pinned' && p.cid === dagRoot.toString() && p.name === opts.name)
        let record: PinRecord
        if (held != null) record = held
        else {
          record = this.#newRecord(client.address, { cid: dagRoot, name: opts.name, origins: [], meta: opts.meta ?? {} }, 'pinning')
          await this.#commit(record, dag.blocks, ingest, abort.signal)
        }
        await this.#unfinished.drop(client.address, dagRoot.toString())
        await this.#lost.recheck()
        return this.view(record)
      } catch (err) {
        // Cut (the body broke, went idle, ran past its total time, or the caller went away): what
        // was kept stays, for the next upload of the root (a slow link finishes over several
        // uploads, each sending only the rest; each batch already counts against the quota).
        // Refused (forged, incomplete, over quota or its byte cap, not a CAR, a storage failure):
        // all of it goes, as a refusal leaves nothing.
        const kept = cut || stopped instanceof BodyIdleError || abort.signal.aborted
        if (root != null && !kept) await this.#unfinished.drop(client.address, root.toString()).catch(() => {})
        throw stopped ?? (abort.signal.aborted ? abort.signal.reason : err)
      } finally {
        clearTimeout(timer)
        finished?.()
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

  #ingest (address: string): Ingest { return new Ingest(address, { blocks: this.#blocks, ledger: this.#ledger, gc: this.#gc }) }

  /** Queues a pull; it starts when the client has a free slot. */
  #schedule (requestid: string, peer?: string): void {
    const r = this.#pins.get(requestid)
    if (r != null) this.#work.schedule(r.address, requestid, peer)
  }

  async #setState (r: PinRecord, status: PinState, error?: { reason: string, details: string }): Promise<void> {
    if (!this.#pins.has(r.requestid)) return
    r.status = status
    if (error != null) r.error = error
    else delete r.error
    await this.#store.put(r)
    this.#emit(r.address)
  }

  /** The bytes one upload's or pull's CAR may have: the quota left to new blocks, the client's own (free) blocks once, and slack for framing. */
  #transferCap (address: string, quota: number): number {
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
      const sources: PinSource[] = [...(peer != null && peer !== '' ? [{ peer, addrs: [] }] : []), ...r.origins.map(a => ({ peer: originPeer(a), addrs: [a] }))]
      const { dag, lastError } = await pullMissing({
        ingest,
        root,
        sources,
        ...(this.#fetchCar != null ? { fetchCar: this.#fetchCar } : {}),
        signal,
        limits: this.#limits,
        budget: async () => {
          const quota = await this.#quota(r.address)
          return { quota, maxBytes: this.#transferCap(r.address, quota) }
        }
      })
      if (dag.missing.length > 0) {
        const why = lastError instanceof Error ? ` (last source: ${lastError.message})` : ''
        throw new LightcafeError('MISSING_BLOCKS', `${dag.missing.length} block(s) of ${r.cid} could not be fetched from the caller or the origins${why}`)
      }
      await this.#commit(r, dag.blocks, ingest, signal)
    } catch (err) {
      await this.#settleReplaced(requestid)
      const e = err instanceof LightcafeError ? err : new LightcafeError('PIN_FAILED', (err as Error).message)
      await this.#setState(r, 'failed', { reason: e.reason, details: e.message })
      throw err
    } finally {
      await ingest.end()
    }
  }
}

/**
 * `source`, telling `broke` when reading it throws (a cut body, not a refusal of what it
 * carried). Not a generator: `return` must reach the source at once, even while a read waits.
 */
function watched<T> (source: AsyncIterable<T>, broke: () => void): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator] () {
      const it = source[Symbol.asyncIterator]()
      return {
        async next () {
          try { return await it.next() } catch (err) { broke(); throw err }
        },
        async return (value?: unknown) { return await it.return?.(value) ?? { done: true, value: undefined } }
      }
    }
  }
}
