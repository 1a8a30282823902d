import { LightcafeError } from '../shared/errors.ts'
import { storeMany } from './blocks.ts'
import type { Blocks } from './blocks.ts'
import type { CID } from 'multiformats/cid'

export const WRITE_BEHIND_LIMITS = {
  /**
   * Bytes queued and being written at once: a few blocks of a 1 MiB-window stream, so the
   * network read goes on during a transaction while memory stays bounded.
   */
  maxBytes: 4 * 1024 * 1024
} as const

interface Block { cid: CID, bytes: Uint8Array }

/** A block given to a writer after `settle`: a caller's bug, never a peer's doing. */
export class WriterSettledError extends LightcafeError {
  constructor () { super('INTERNAL', 'a block was given to a block writer after it was settled') }
}

/**
 * Write-behind for a stream of verified blocks: `add` queues a block and returns at once
 * unless `maxBytes` are queued or being written; one batch (`storeMany`, one IndexedDB
 * transaction) is written at a time, and what arrives meanwhile makes the next batch.
 * Nothing is durable until `flush` resolves. The first failure stops the writer: it is
 * thrown by the next `add` or `flush`, and queued blocks are dropped unwritten (`settle`
 * names them).
 */
export class BlockWriter {
  readonly #blocks: Blocks
  readonly #maxBytes: number
  readonly #onBatch: ((batch: Block[]) => Promise<void>) | undefined
  #queue: Block[] = []
  #queuedBytes = 0
  #writingBytes = 0
  #writing: Promise<void> | undefined
  #failure: { error: unknown } | undefined
  #stopped = false
  #unwritten: Block[] = []

  /**
   * `onBatch` is awaited after each batch is durable, before the next is written (an unfinished
   * upload records what it kept); its failure is the writer's, and that batch counts unwritten.
   */
  constructor (blocks: Blocks, limits: { maxBytes?: number, onBatch?: (batch: Block[]) => Promise<void> } = {}) {
    this.#blocks = blocks
    this.#maxBytes = limits.maxBytes ?? WRITE_BEHIND_LIMITS.maxBytes
    this.#onBatch = limits.onBatch
  }

  /** Queues a block; waits while the writer holds `maxBytes` or more (a single larger block is still taken). */
  async add (block: Block): Promise<void> {
    if (this.#stopped) throw new WriterSettledError()
    // Queued even after a failure: `settle` then names it among the unwritten.
    this.#queue.push(block)
    this.#queuedBytes += block.bytes.byteLength
    this.#next()
    this.#check()
    while (this.#writing != null && this.#queuedBytes + this.#writingBytes > this.#maxBytes) {
      await this.#writing
      this.#check()
    }
  }

  /** Resolves once every block added is durably stored; throws the write's failure if one failed. */
  async flush (): Promise<void> {
    for (;;) {
      this.#check()
      this.#next()
      if (this.#writing == null) return
      await this.#writing
    }
  }

  /**
   * Stops, and resolves (never throws) once the batch being written has committed or failed:
   * after it, nothing this writer was given can still land. Returns the blocks not known to be
   * stored: those queued (dropped unwritten) and those of a failed batch.
   */
  async settle (): Promise<Block[]> {
    this.#stopped = true
    this.#drop()
    while (this.#writing != null) await this.#writing
    const unwritten = this.#unwritten
    this.#unwritten = []
    return unwritten
  }

  #check (): void {
    if (this.#failure != null) throw this.#failure.error
    if (this.#stopped) throw new WriterSettledError()
  }

  /** Queued blocks, dropped unwritten. */
  #drop (): void {
    this.#unwritten.push(...this.#queue)
    this.#queue = []
    this.#queuedBytes = 0
  }

  /** Starts the next batch when none is being written. */
  #next (): void {
    if (this.#writing != null || this.#queue.length === 0 || this.#stopped || this.#failure != null) return
    const batch = this.#queue
    this.#writingBytes = this.#queuedBytes
    this.#queue = []
    this.#queuedBytes = 0
    this.#writing = storeMany(this.#blocks, batch).then(
      async () => { await this.#onBatch?.(batch) }
    ).then(
      () => {},
      (error: unknown) => { this.#failure ??= { error }; this.#unwritten.push(...batch); this.#drop() }
    ).then(() => {
      this.#writing = undefined
      this.#writingBytes = 0
      this.#next()
    })
  }
}
