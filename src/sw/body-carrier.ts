import { LightcafeError } from '../shared/errors.ts'
import { isReason } from '../shared/reasons.ts'
import type { Reason } from '../shared/reasons.ts'

/**
 * How a request or response body crosses between the service worker and the node page, in
 * either direction. Two carriers behind one interface (`sendBody` on one side, `receiveBody`
 * on the other), with the same limits and the same errors:
 * - `stream`: a transferred ReadableStream (Chromium, Firefox). The sender writes into a
 *   TransformStream whose readable side is transferred.
 * - `port`: chunks over a MessagePort of the body's own (WebKit, i.e. Safari and every iOS
 *   browser, cannot transfer streams: DataCloneError). The receiver grants credit in bytes;
 *   the sender sends copies of its chunks as transferred ArrayBuffers, never more than the
 *   credit it holds, so no more than `windowBytes` are ever in flight or queued.
 * In both, the sender gives up when the receiver takes nothing for `sendIdleMs` while a chunk
 * waits, a failure reaches the receiver as a `BridgeBodyError` with the sender's reason, and a
 * receiver that cancels cancels the sender's source.
 */

export type Carrier = 'stream' | 'port'

/** A body on the wire: what rides in a bridge message (its stream or port in the transfer list). */
export type WireBody =
  | { carrier: 'stream', stream: ReadableStream<Uint8Array> }
  | { carrier: 'port', port: MessagePort }

export const BODY_LIMITS = {
  /** Bytes sent and not yet read by the receiver's consumer, per body. */
  windowBytes: 1024 * 1024,
  /** The largest chunk one message carries. */
  chunkBytes: 256 * 1024,
  /** The receiver took nothing this long while a chunk waited: the sender cancels its source (BODY_TIMEOUT). */
  sendIdleMs: 30_000
}
export type BodyLimits = typeof BODY_LIMITS

/** A body failed on its way across the bridge: its source failed, it stalled, or the bridge broke. */
export class BridgeBodyError extends LightcafeError {
  static override name = 'BridgeBodyError'
  override name = 'BridgeBodyError'
  constructor (reason: Reason, details: string) { super(reason, details) }
}

/** A failure as it crosses: plain data, the same in both carriers. */
interface WireError { reason: string, details: string }

function toWire (err: unknown): WireError {
  if (err instanceof LightcafeError) return { reason: err.reason, details: err.message }
  if (isWireError(err)) return err
  return { reason: 'BRIDGE_ERROR', details: err instanceof Error ? `${err.name}: ${err.message}` : String(err) }
}

function isWireError (x: unknown): x is WireError {
  return typeof x === 'object' && x != null && typeof (x as WireError).reason === 'string' && typeof (x as WireError).details === 'string'
}

function fromWire (x: unknown): BridgeBodyError {
  if (x instanceof BridgeBodyError) return x
  const w = toWire(x)
  return new BridgeBodyError(isReason(w.reason) ? w.reason : 'BRIDGE_ERROR', w.details.slice(0, 1000))
}

/** The receiver cancelled the body: what the sender's source is cancelled with, in both carriers. */
function abandoned (details: string): BridgeBodyError {
  return new BridgeBodyError('BODY_ABANDONED', `the receiver cancelled the body: ${details.slice(0, 500)}`)
}

let transfers: boolean | undefined

/** Whether this realm can transfer a ReadableStream in postMessage; tested once. */
export function streamsTransfer (): boolean {
  if (transfers == null) {
    try {
      const probe = new ReadableStream()
      structuredClone(probe, { transfer: [probe as unknown as Transferable] })
      transfers = true
    } catch {
      transfers = false
    }
  }
  return transfers
}

/**
 * The carrier this side uses: `port` where streams cannot be transferred, or when `forced`
 * (`'port'`: the fallback asked for by a test or to diagnose, see `bridgeCarrier` in page-bridge.ts).
 */
export function carrierFor (forced?: string | null): Carrier {
  return forced === 'port' || !streamsTransfer() ? 'port' : 'stream'
}

// The port protocol. Receiver → sender: credit, cancel. Sender → receiver: chunk, end, error.
type ToSender = { t: 'credit', bytes: number } | { t: 'cancel', details: string }
type ToReceiver = { t: 'chunk', data: ArrayBuffer } | { t: 'end' } | ({ t: 'error' } & WireError)

/** Where the pump writes: room (bytes it may send now), a chunk, the end, a failure. */
interface Sink {
  room: () => Promise<number>
  write: (chunk: Uint8Array) => void
  close: () => void
  fail: (err: WireError) => void
}

/** The whole of `chunk`'s buffer, or a copy: a clone or transfer takes a view's entire buffer. */
function own (chunk: Uint8Array): Uint8Array {
  return chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength ? chunk : chunk.slice()
}

function streamSink (limits: BodyLimits, cancelled: (err: unknown) => void): { sink: Sink, wire: WireBody, transfer: Transferable[] } {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>({}, new ByteLengthQueuingStrategy({ highWaterMark: limits.windowBytes }))
  const writer = writable.getWriter()
  // The receiver cancelled: the writable errors with its reason, named as the port carrier names it.
  writer.closed.catch((err: unknown) => { cancelled(abandoned(toWire(err).details)) })
  const sink: Sink = {
    room: async () => { await writer.ready; return Math.max(1, writer.desiredSize ?? 1) },
    write: chunk => { writer.write(own(chunk)).catch(() => {}) },
    close: () => { writer.close().catch(() => {}) },
    fail: err => { writer.abort(err).catch(() => {}) }
  }
  return { sink, wire: { carrier: 'stream', stream: readable }, transfer: [readable as unknown as Transferable] }
}

function portSink (cancelled: (err: unknown) => void): { sink: Sink, wire: WireBody, transfer: Transferable[] } {
  const { port1, port2 } = new MessageChannel()
  let credit = 0
  let closed = false
  let waiting: ((n: number) => void) | undefined
  port1.onmessage = (ev: MessageEvent<ToSender>) => {
    const m = ev.data
    if (closed) return
    if (m?.t === 'credit' && Number.isSafeInteger(m.bytes) && m.bytes > 0) {
      credit += m.bytes
      waiting?.(credit)
      waiting = undefined
    } else {
      closed = true
      port1.close()
      cancelled(m?.t === 'cancel' ? abandoned(String(m.details)) : new BridgeBodyError('BRIDGE_ERROR', 'the receiver sent a malformed message'))
    }
  }
  const post = (m: ToReceiver, transfer: Transferable[] = []): void => { if (!closed) port1.postMessage(m, transfer) }
  const sink: Sink = {
    // Never rejects: a cancel reaches the pump through `cancelled`.
    room: async () => credit > 0 ? credit : new Promise(resolve => { waiting = resolve }),
    write: chunk => {
      credit -= chunk.byteLength
      // A copy, transferred: the source may still hold (or cache) the bytes of its chunk.
      const data = chunk.slice().buffer
      post({ t: 'chunk', data }, [data])
    },
    close: () => { post({ t: 'end' }); closed = true; port1.close() },
    fail: err => { post({ t: 'error', ...err }); closed = true; port1.close() }
  }
  return { sink, wire: { carrier: 'port', port: port2 }, transfer: [port2] }
}

/** Rejects with BODY_TIMEOUT if `p` does not settle within `ms`. */
async function within<T> (p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    return await Promise.race([p, new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => { reject(new BridgeBodyError('BODY_TIMEOUT', what)) }, ms)
    })])
  } finally {
    clearTimeout(timer)
  }
}

export interface SentBody {
  /** Goes in the bridge message, and `transfer` in its transfer list. */
  wire: WireBody
  transfer: Transferable[]
  /** Settles when the body was sent whole, failed, or was cancelled. */
  done: Promise<void>
  /** Stops sending (the other side went away): the source is cancelled, the receiver told. */
  abort: (err: unknown) => void
}

/** Sends `source` by `carrier`; the receiver's `receiveBody` reads it, whichever carrier it was. */
export function sendBody (source: ReadableStream<Uint8Array>, carrier: Carrier, limits: BodyLimits = BODY_LIMITS): SentBody {
  let stopped: unknown
  let wake: ((err: unknown) => void) | undefined
  const aborted = new Promise<never>((_resolve, reject) => { wake = reject })
  aborted.catch(() => {})
  const abort = (err: unknown): void => { stopped ??= err; wake?.(err) }
  const { sink, wire, transfer } = carrier === 'stream' ? streamSink(limits, abort) : portSink(abort)
  const reader = source.getReader()
  const pump = async (): Promise<void> => {
    try {
      for (;;) {
        const { done, value } = await Promise.race([reader.read(), aborted])
        if (done) { sink.close(); return }
        if (!(value instanceof Uint8Array)) throw new BridgeBodyError('BRIDGE_ERROR', 'a body chunk that is not bytes')
        for (let at = 0; at < value.byteLength;) {
          const room = await Promise.race([within(sink.room(), limits.sendIdleMs, `the receiver took nothing for ${limits.sendIdleMs} ms`), aborted])
          const n = Math.min(room, limits.chunkBytes, value.byteLength - at)
          sink.write(value.subarray(at, at + n))
          at += n
        }
      }
    } catch (err) {
      const failure = stopped ?? err
      sink.fail(toWire(failure))
      await reader.cancel(failure).catch(() => {})
    }
  }
  return {
    wire,
    transfer,
    done: pump(),
    abort
  }
}

export interface ReceivedBody {
  stream: ReadableStream<Uint8Array>
  /** Settles when the body was read whole, failed, or was cancelled. */
  done: Promise<void>
  /** Ends the body with an error (the other side went away); the sender is told to stop. */
  fail: (err: unknown) => void
}

/** The port carrier's receiving end: chunks as they come, credit granted as the consumer reads. */
function portSource (port: MessagePort, limits: BodyLimits): ReadableStream<Uint8Array> {
  const queue: Uint8Array[] = []
  let outstanding = limits.windowBytes // credit granted and not yet used
  let taken = 0 // bytes read since the last grant
  let ended = false
  let failure: unknown
  let wake: (() => void) | undefined
  const stop = (err: unknown): void => {
    failure ??= err
    port.close()
    wake?.()
  }
  port.onmessage = (ev: MessageEvent<ToReceiver>) => {
    const m = ev.data
    if (ended || failure != null) return
    if (m?.t === 'chunk' && m.data instanceof ArrayBuffer) {
      if (m.data.byteLength > limits.chunkBytes || m.data.byteLength > outstanding) {
        port.postMessage({ t: 'cancel', details: 'a chunk past the credit granted' } satisfies ToSender)
        stop(new BridgeBodyError('BRIDGE_ERROR', `the sender sent ${m.data.byteLength} bytes with ${outstanding} of credit`))
        return
      }
      outstanding -= m.data.byteLength
      queue.push(new Uint8Array(m.data))
    } else if (m?.t === 'end') {
      ended = true
      port.close()
    } else if (m?.t === 'error') {
      stop(m)
      return
    } else {
      stop(new BridgeBodyError('BRIDGE_ERROR', 'the sender sent a malformed message'))
      return
    }
    wake?.()
  }
  port.postMessage({ t: 'credit', bytes: limits.windowBytes } satisfies ToSender)
  return new ReadableStream<Uint8Array>({
    async pull (controller) {
      while (queue.length === 0 && !ended && failure == null) await new Promise<void>(resolve => { wake = resolve })
      wake = undefined
      const chunk = queue.shift()
      if (chunk != null) {
        controller.enqueue(chunk)
        taken += chunk.byteLength
        // Grant in quarters of the window: few messages, and the sender never runs dry.
        if (taken >= limits.windowBytes / 4 && failure == null && !ended) {
          outstanding += taken
          port.postMessage({ t: 'credit', bytes: taken } satisfies ToSender)
          taken = 0
        }
      } else if (failure != null) {
        controller.error(failure)
      } else {
        controller.close()
      }
    },
    cancel (reason) {
      if (!ended && failure == null) port.postMessage({ t: 'cancel', details: String(toWire(reason).details) } satisfies ToSender)
      stop(reason ?? 'cancelled')
    }
  }, { highWaterMark: 0 })
}

/** Checks a body from a bridge message; `null` for none. Throws BRIDGE_ERROR for anything else. */
export function wireBodyOf (x: unknown): WireBody | null {
  if (x == null) return null
  const w = x as Partial<{ carrier: unknown, stream: unknown, port: unknown }>
  if (w.carrier === 'stream' && w.stream instanceof ReadableStream) return w as WireBody
  if (w.carrier === 'port' && w.port instanceof MessagePort) return w as WireBody
  throw new BridgeBodyError('BRIDGE_ERROR', 'a body that is neither a stream nor a port')
}

/**
 * The body `wire` carries, as a stream, whichever carrier brought it. `idleMs`: it errors with
 * BODY_TIMEOUT when a read waits that long (request bodies; a response may be a long-lived
 * stream of updates). Failures arrive as `BridgeBodyError`s with the sender's reason.
 */
export function receiveBody (wire: WireBody, opts: { idleMs?: number, limits?: BodyLimits } = {}): ReceivedBody {
  const limits = opts.limits ?? BODY_LIMITS
  const raw = wire.carrier === 'stream' ? wire.stream : portSource(wire.port, limits)
  const reader = raw.getReader()
  let settle: () => void = () => {}
  const done = new Promise<void>(resolve => { settle = resolve })
  let outer: ReadableStreamDefaultController<Uint8Array> | undefined
  let over = false
  const finish = (err?: unknown): void => {
    if (over) return
    over = true
    if (err != null) {
      try { outer?.error(err) } catch { /* already closed */ }
      reader.cancel(err).catch(() => {})
    }
    settle()
  }
  const stream = new ReadableStream<Uint8Array>({
    start (controller) { outer = controller },
    async pull (controller) {
      try {
        const read = reader.read()
        const { done, value } = opts.idleMs != null ? await within(read, opts.idleMs, `the body stalled for ${opts.idleMs} ms`) : await read
        if (over) return
        if (done) { controller.close(); finish(); return }
        controller.enqueue(value)
      } catch (err) {
        finish(fromWire(err))
      }
    },
    async cancel (reason) {
      over = true
      settle()
      await reader.cancel(reason).catch(() => {})
    }
  }, { highWaterMark: 0 })
  return { stream, done, fail: err => { finish(fromWire(err)) } }
}
