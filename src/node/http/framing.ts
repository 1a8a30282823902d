import { lpStream } from '@libp2p/utils'
import { Uint8ArrayList } from 'uint8arraylist'
import { BodyTimeoutError, BodyTooLargeError } from '../../shared/streams.ts'
import { FRAME, HTTP_LIMITS, HttpOverLibp2pError } from './protocol.ts'
import type { AbortOptions, Stream } from '@libp2p/interface'
import type { LengthPrefixedStream } from '@libp2p/utils'

/**
 * Typed frames on one stream, with flow control, for both ends. Flow control is ours because
 * libp2p's WebRTC streams have none on the reading side: a sender faster than the reader
 * overflows the reader's 4 MiB buffer and the stream is aborted (measured with a 20 MiB upload
 * into IndexedDB). A body's sender keeps at most `windowBytes` unacknowledged; the receiver
 * acknowledges what its consumer has read.
 */

const tag = (type: number): Uint8Array => Uint8Array.of(type)
export const frame = (type: number, data?: Uint8Array): Uint8ArrayList => data == null ? new Uint8ArrayList(tag(type)) : new Uint8ArrayList(tag(type), data)

export interface Frame { type: number, data: Uint8Array }

/** Each body frame must arrive, and each send be taken, within these (none: the caller's signal alone). */
export interface IdleLimits { readMs?: number, sendMs?: number }

/**
 * One end of a stream: typed frames, and the flow-control counters of both directions.
 * Counters are cumulative over the stream's life, so late acknowledgements of an earlier
 * message still add up.
 */
export class Framed {
  readonly lp: LengthPrefixedStream<Stream>
  readonly idle: IdleLimits
  #stash: Frame | undefined
  #sent = 0
  #acked = 0
  #consumed = 0
  #ackSent = 0

  readonly #stream: Stream

  constructor (stream: Stream, idle: IdleLimits = {}) {
    this.lp = lpStream(stream, { maxDataLength: Math.max(HTTP_LIMITS.maxHeadBytes, HTTP_LIMITS.frameBytes) + 1 })
    this.idle = idle
    this.#stream = stream
  }

  /**
   * Runs `op`; if it takes longer than `ms`, the stream is reset with `timeout()` (and `op`
   * fails with it). A timer per frame, cleared at once: cheaper than a combined signal per frame.
   */
  async #guard<T> (ms: number | undefined, timeout: () => Error, op: () => Promise<T>): Promise<T> {
    if (ms == null) return op()
    let fired: Error | undefined
    const timer = setTimeout(() => { fired = timeout(); this.#stream.abort(fired) }, ms)
    try {
      return await op()
    } catch (err) {
      throw fired ?? err
    } finally {
      clearTimeout(timer)
    }
  }

  async #readAny (options: AbortOptions): Promise<Frame> {
    if (this.#stash != null) { const f = this.#stash; this.#stash = undefined; return f }
    const list = await this.lp.read(options)
    if (list.byteLength === 0) throw new HttpOverLibp2pError('MALFORMED_FRAME', 'empty frame')
    const bytes = list.subarray()
    return { type: bytes[0], data: bytes.subarray(1) }
  }

  #credit (f: Frame): void {
    if (f.data.byteLength !== 4) throw new HttpOverLibp2pError('MALFORMED_FRAME', 'malformed ack')
    this.#acked += new DataView(f.data.buffer, f.data.byteOffset, 4).getUint32(0)
    if (this.#acked > this.#sent) throw new HttpOverLibp2pError('MALFORMED_FRAME', 'ack for bytes never sent')
  }

  /** The next frame that is not an acknowledgement (those are counted on the way); `signal` alone bounds the wait. */
  async read (options: AbortOptions = {}): Promise<Frame> {
    for (;;) {
      const f = await this.#readAny(options)
      if (f.type !== FRAME.ACK) return f
      this.#credit(f)
    }
  }

  /** The next body frame: within the read idle limit as well as `signal`. */
  async readBodyFrame (what: string, options: AbortOptions = {}): Promise<Frame> {
    return this.#guard(this.idle.readMs, () => new BodyTimeoutError(what), async () => this.read(options))
  }

  /** Sends frames; the peer must take them within the send idle limit. */
  async writeV (frames: Uint8ArrayList[], options: AbortOptions = {}): Promise<void> {
    await this.#guard(this.idle.sendMs, () => new HttpOverLibp2pError('SEND_TIMEOUT', `the peer took nothing for ${this.idle.sendMs} ms`), async () => { await this.lp.writeV(frames, options) })
  }

  /**
   * Waits until `bytes` more may be sent. False if the peer sent something else meanwhile
   * (a server answering before reading the whole body): the caller stops sending.
   * A peer that acknowledges nothing within the send idle limit fails it (SEND_TIMEOUT).
   */
  async waitCredit (bytes: number, options: AbortOptions = {}): Promise<boolean> {
    while (this.#sent + bytes - this.#acked > HTTP_LIMITS.windowBytes) {
      const f = await this.#guard(this.idle.sendMs, () => new HttpOverLibp2pError('SEND_TIMEOUT', `the peer acknowledged nothing for ${this.idle.sendMs} ms`), async () => this.#readAny(options))
      if (f.type !== FRAME.ACK) { this.#stash = f; return false }
      this.#credit(f)
    }
    return true
  }

  sent (bytes: number): void { this.#sent += bytes }

  /** The consumer read `bytes` of a body: acknowledge them in batches. */
  async consumed (bytes: number): Promise<void> {
    this.#consumed += bytes
    const due = this.#consumed - this.#ackSent
    if (due < HTTP_LIMITS.ackEveryBytes) return
    this.#ackSent = this.#consumed
    const n = new Uint8Array(4)
    new DataView(n.buffer).setUint32(0, due)
    await this.writeV([frame(FRAME.ACK, n)])
  }
}

/** What a body's stream does when it is done with the libp2p stream under it. */
export interface BodyStreamOptions extends AbortOptions {
  /** The end frame was read: the stream can carry the next message. */
  onEnd?: () => void
  /** The body could not be read to its end: the stream must not be reused. */
  onBroken?: () => void
}

/**
 * A body arriving as frames; knows whether its end frame was read, so the stream can be reused.
 * Bounded: past `max` bytes it fails with BODY_TOO_LARGE, a frame later than the read idle
 * limit (or `signal`) fails it with BODY_TIMEOUT.
 */
export class IncomingBody {
  ended = false
  /** Why the body could not be read to its end, if it failed. */
  failed: Error | undefined
  readonly #io: Framed
  readonly #max: number
  readonly #what: string
  #size = 0
  constructor (io: Framed, opts: { max?: number, what: string }) {
    this.#io = io
    this.#max = opts.max ?? Number.POSITIVE_INFINITY
    this.#what = opts.what
  }

  async next (options: AbortOptions = {}): Promise<Uint8Array | null> {
    if (this.failed != null) throw this.failed
    if (this.ended) return null
    try {
      const f = await this.#io.readBodyFrame(this.#what, options)
      if (f.type === FRAME.END) { this.ended = true; return null }
      if (f.type !== FRAME.DATA) throw new HttpOverLibp2pError('UNEXPECTED_FRAME', 'unexpected frame in a body')
      this.#size += f.data.byteLength
      if (this.#size > this.#max) throw new BodyTooLargeError(this.#max, this.#what)
      await this.#io.consumed(f.data.byteLength)
      return f.data
    } catch (err) {
      this.failed = options.signal?.aborted === true && !(err instanceof BodyTooLargeError) ? new BodyTimeoutError(this.#what) : err as Error
      throw this.failed
    }
  }

  /**
   * The body as a stream. `onEnd` runs when the end frame was read (the stream can carry the
   * next message); a consumer that cancels early gets the rest drained (bounded) first, and
   * `onBroken` runs if that fails, so a cancelled body never leaks its libp2p stream. When
   * `signal` fires, or the consumer cancels because of a bound (BODY_TOO_LARGE, BODY_TIMEOUT),
   * nothing more is read: `onBroken` runs at once.
   */
  stream (opts: BodyStreamOptions = {}): ReadableStream<Uint8Array> {
    const { onEnd, onBroken, signal } = opts
    let done = false
    const finish = (ok: boolean): void => {
      if (done) return
      done = true
      signal?.removeEventListener('abort', onAbort)
      if (ok) onEnd?.()
      else onBroken?.()
    }
    // A caller that stopped reading still has its deadline: the stream is freed when it passes.
    const onAbort = (): void => { if (this.ended) return; this.failed ??= new BodyTimeoutError(this.#what); finish(false) }
    if (signal?.aborted === true) onAbort()
    else signal?.addEventListener('abort', onAbort, { once: true })
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        try {
          const chunk = await this.next({ signal })
          if (chunk == null) { controller.close(); finish(true) } else controller.enqueue(chunk)
        } catch (err) {
          controller.error(err)
          finish(false)
        }
      },
      cancel: async (reason) => {
        if (done) return
        if (reason instanceof BodyTooLargeError || reason instanceof BodyTimeoutError || this.failed != null) { finish(false); return }
        try {
          finish(await this.drain(HTTP_LIMITS.maxDrainBytes, { signal }))
        } catch {
          finish(false)
        }
      }
    }, { highWaterMark: 0 })
  }

  /** Reads what is left, up to `max` bytes; false if there was more. */
  async drain (max: number, options: AbortOptions = {}): Promise<boolean> {
    let n = 0
    for (let chunk = await this.next(options); chunk != null; chunk = await this.next(options)) {
      n += chunk.byteLength
      if (n > max) return false
    }
    return true
  }
}

const WOULD_WAIT = Symbol('would wait')

/** `p`, unless `signal` fires first (a producer that waits forever must not hold us once the stream is gone). */
async function untilAborted<T> (p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (signal == null) return p
  signal.throwIfAborted()
  let onAbort!: () => void
  const aborted = new Promise<never>((_resolve, reject) => { onAbort = () => { reject(signal.reason) }; signal.addEventListener('abort', onAbort, { once: true }) })
  try {
    return await Promise.race([p, aborted])
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

/**
 * Writes a head frame, the body as data frames within the flow-control window, then the end
 * frame. Frames that are ready together go out as one message (a JSON request or answer is a
 * single send: over WebRTC each message is a data-channel send); whenever the body would make
 * us wait, what is pending is sent first, so streamed bodies are never held back.
 * If the peer answers before taking the whole body, sending stops there (and the body is cancelled).
 */
export async function writeMessage (io: Framed, head: Uint8Array, body: ReadableStream<Uint8Array> | null, options: AbortOptions = {}): Promise<void> {
  const { signal } = options
  let pending: Uint8ArrayList[] = [frame(FRAME.HEAD, head)]
  let pendingBytes = 0
  const flush = async (): Promise<void> => {
    if (pending.length > 0) await io.writeV(pending, { signal })
    pending = []
    pendingBytes = 0
  }
  let stopped = false
  if (body != null) {
    const reader = body.getReader()
    let complete = false
    try {
      for (let next = reader.read(); ; next = reader.read()) {
        // An already-queued chunk wins the race; a pending read loses to the resolved marker.
        let result = await Promise.race([next, Promise.resolve(WOULD_WAIT)])
        if (result === WOULD_WAIT) {
          await flush()
          result = await untilAborted(next, signal)
        }
        if (result.done === true) break
        const value = result.value
        for (let i = 0; i < value.byteLength && !stopped; i += HTTP_LIMITS.frameBytes) {
          const piece = value.subarray(i, i + HTTP_LIMITS.frameBytes)
          if (pendingBytes + piece.byteLength > HTTP_LIMITS.frameBytes) await flush()
          if (!(await io.waitCredit(piece.byteLength, { signal }))) { stopped = true; break }
          pending.push(frame(FRAME.DATA, piece))
          pendingBytes += piece.byteLength
          io.sent(piece.byteLength)
        }
        if (stopped) break
      }
      complete = !stopped
    } finally {
      // Stopped or failed midway: the producer (a DAG walk, a forwarded search) must end too.
      if (!complete) await reader.cancel().catch(() => {})
      reader.releaseLock()
    }
  }
  pending.push(frame(FRAME.END))
  if (!stopped) return await flush()
  // The peer answered early and may already have closed its side: the end frame is a courtesy.
  await flush().catch(() => {})
}
