import { Uint8ArrayList } from 'uint8arraylist'
import { concat } from 'uint8arrays/concat'
import { LightcafeError } from './errors.ts'

/** A ReadableStream as an async iterable (releasing its lock when the loop ends). */
export async function * iterateStream<T> (stream: ReadableStream<T>): AsyncGenerator<T> {
  const reader = stream.getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return
      yield value
    }
  } finally {
    reader.releaseLock()
  }
}

/** An async iterator as a pull-based ReadableStream: nothing is read ahead of the consumer. */
export function streamFromIterator<T> (it: AsyncIterator<T>): ReadableStream<T> {
  return new ReadableStream<T>({
    async pull (controller) {
      try {
        const { done, value } = await it.next()
        if (done === true) controller.close()
        else controller.enqueue(value)
      } catch (err) {
        controller.error(err)
      }
    },
    async cancel () { await it.return?.(undefined) }
  })
}

/**
 * Caps on bodies read from remote peers, each fit for what the answer can hold: a peer that
 * sends more is cut off there (BODY_TOO_LARGE), whatever it claims.
 */
export const REMOTE_BODY_LIMITS = {
  /** A cafe's JSON answer to one call (a session, a PinStatus, a snapshot: ≤ 64 KiB of ciphertext, base64). */
  cafeAnswerBytes: 1024 * 1024,
  /** An error body: a reason and a sentence. */
  errorBytes: 16 * 1024,
  /** One page of a listing: ≤ 1000 pins with their metadata, or ≤ 500 inbox envelopes of ≤ 64 KiB. */
  pageBytes: 48 * 1024 * 1024,
  /** A search answer: ≤ 50 signed contacts of ≤ 4 KiB, plus what the cafe forwarded. */
  searchAnswerBytes: 1024 * 1024,
  /** One signed contact (≤ 4 KiB compact; a pretty-printed one may be larger). */
  contactBytes: 64 * 1024,
  /** A cafe's `/cafe/v1/info`: a peer id, a name of ≤ 64 characters, a version. */
  infoBytes: 16 * 1024
} as const

/** A body from a remote peer passed its byte cap. The reading stopped there and the body was cancelled. */
export class BodyTooLargeError extends LightcafeError {
  static override name = 'BodyTooLargeError'
  override name = 'BodyTooLargeError'
  constructor (max: number, what = 'the body') { super('BODY_TOO_LARGE', `${what} is larger than ${max} bytes`) }
}

/** A body from a remote peer did not arrive in time (the caller's signal fired, or it stalled). */
export class BodyTimeoutError extends LightcafeError {
  static override name = 'BodyTimeoutError'
  override name = 'BodyTimeoutError'
  constructor (what = 'the body') { super('BODY_TIMEOUT', `${what} did not arrive in time`) }
}

export interface BoundedRead {
  /** Bytes past which reading stops with BODY_TOO_LARGE. */
  maxBytes: number
  /** Reading stops with BODY_TIMEOUT when it fires, even between chunks. */
  signal?: AbortSignal
  /** Names the body in error text. */
  what?: string
}

/**
 * A body stream, bounded: it errors with BODY_TOO_LARGE once more than `maxBytes` arrived and
 * with BODY_TIMEOUT when `signal` fires, and cancels the source either way (over libp2p, that
 * aborts the stream rather than draining it).
 */
export async function * boundedChunks (body: ReadableStream<Uint8Array> | null, opts: BoundedRead): AsyncGenerator<Uint8Array> {
  if (body == null) return
  const what = opts.what ?? 'the body'
  const reader = body.getReader()
  let failure: Error | undefined
  const onAbort = (): void => { failure ??= new BodyTimeoutError(what); reader.cancel(failure).catch(() => {}) }
  opts.signal?.addEventListener('abort', onAbort, { once: true })
  let size = 0
  let ended = false
  try {
    if (opts.signal?.aborted === true) throw new BodyTimeoutError(what)
    for (;;) {
      let result: ReadableStreamReadResult<Uint8Array>
      try {
        result = await reader.read()
      } catch (err) {
        throw failure ?? err
      }
      if (failure != null) throw failure
      if (result.done) { ended = true; return }
      size += result.value.byteLength
      if (size > opts.maxBytes) throw (failure = new BodyTooLargeError(opts.maxBytes, what))
      yield result.value
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort)
    // Stopped early (cap, signal, or a consumer that broke off): the source must not keep flowing.
    if (!ended) await reader.cancel(failure ?? new BodyTimeoutError(what)).catch(() => {})
    reader.releaseLock()
  }
}

/** A response's whole body, at most `maxBytes`, before `signal` fires. */
export async function readBody (res: Response, opts: BoundedRead): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  for await (const c of boundedChunks(res.body, opts)) chunks.push(c)
  return concat(chunks)
}

/** A response's JSON body, read as `readBody` reads it. Malformed JSON is INVALID_JSON (502: the peer's fault). */
export async function readJson (res: Response, opts: BoundedRead): Promise<unknown> {
  const bytes = await readBody(res, opts)
  try {
    return JSON.parse(new TextDecoder().decode(bytes))
  } catch {
    throw new LightcafeError('INVALID_JSON', `${opts.what ?? 'the body'} is not valid JSON`, { as: 'peerAnswer' })
  }
}

/** The source ended before the bytes a reader needed (a truncated input). */
export class UnexpectedEndError extends LightcafeError {
  static override name = 'UnexpectedEndError'
  override name = 'UnexpectedEndError'
  constructor (details: string) { super('UNEXPECTED_END', details) }
}

/**
 * Reads exact lengths from chunks, pulling only what it needs: a length prefix can be checked
 * before anything it announces is read. `consumed` counts the bytes taken from the source.
 */
export class ByteReader {
  readonly #it: AsyncIterator<Uint8Array>
  readonly #buf = new Uint8ArrayList()
  #done = false
  consumed = 0

  constructor (source: AsyncIterable<Uint8Array>) { this.#it = source[Symbol.asyncIterator]() }

  async #fill (): Promise<boolean> {
    if (this.#done) return false
    const { done, value } = await this.#it.next()
    if (done === true) { this.#done = true; return false }
    this.#buf.append(value)
    this.consumed += value.byteLength
    return true
  }

  /** True when the source is exhausted and nothing is buffered. */
  async atEnd (): Promise<boolean> {
    while (this.#buf.byteLength === 0) if (!(await this.#fill())) return true
    return false
  }

  /** An unsigned LEB128 varint of at most 8 bytes (2^53: every safe integer); throws on anything longer. */
  async varint (): Promise<number> {
    let value = 0
    for (let i = 0; ; i++) {
      while (this.#buf.byteLength <= i) if (!(await this.#fill())) throw new UnexpectedEndError('the source ended inside a varint')
      const b = this.#buf.get(i)
      if (i === 7 && b > 0x0f) throw new RangeError('varint too large')
      value += (b & 0x7f) * 2 ** (7 * i)
      if ((b & 0x80) === 0) { this.#buf.consume(i + 1); return value }
    }
  }

  /** Exactly `n` bytes (the caller bounds `n` first). */
  async exactly (n: number): Promise<Uint8Array> {
    while (this.#buf.byteLength < n) if (!(await this.#fill())) throw new UnexpectedEndError(`the source ended ${n - this.#buf.byteLength} bytes early`)
    const out = this.#buf.subarray(0, n)
    this.#buf.consume(n)
    return out
  }

  /** Stops the source (a generator's finally blocks run). */
  async close (): Promise<void> {
    this.#done = true
    await this.#it.return?.(undefined)
  }
}

/** Lines of NDJSON from a stream body, read with a reader (streams are not async-iterable in every browser). */
export async function * ndjsonLines (body: ReadableStream<Uint8Array>): AsyncGenerator<any> {
  const decoder = new TextDecoder()
  let buffer = ''
  for await (const value of iterateStream(body)) {
    buffer += decoder.decode(value, { stream: true })
    let nl: number
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl)
      buffer = buffer.slice(nl + 1)
      if (line.trim() !== '') yield JSON.parse(line)
    }
  }
}

/**
 * A response body written one JSON value per line (NDJSON), as the values come. `ended` fires
 * when the stream is over for any cause — closed, the reader cancelled the body, or `signal`
 * (the request's) aborted — so the work feeding it (watchers, timers) stops with it.
 */
export function ndjsonStream (signal?: AbortSignal): { body: ReadableStream<Uint8Array>, send: (value: unknown) => void, close: () => void, ended: AbortSignal } {
  const enc = new TextEncoder()
  let controller!: ReadableStreamDefaultController<Uint8Array>
  const over = new AbortController()
  const body = new ReadableStream<Uint8Array>({ start (c) { controller = c }, cancel (reason) { over.abort(reason) } })
  const close = (): void => {
    if (over.signal.aborted) return
    over.abort()
    controller.close()
  }
  if (signal?.aborted === true) close()
  else signal?.addEventListener('abort', close, { once: true })
  over.signal.addEventListener('abort', () => { signal?.removeEventListener('abort', close) }, { once: true })
  return {
    body,
    // A reader that went away (cancelled) is not written to.
    send: value => { if (!over.signal.aborted) controller.enqueue(enc.encode(JSON.stringify(value) + '\n')) },
    close,
    ended: over.signal
  }
}

/**
 * An NDJSON body (see `ndjsonStream`) where changes are sent at most once per `everyMs`: `put`
 * keeps only each key's latest value (a DAG of many blocks or a busy outbox does not flood the
 * page), sent in the order of their last change. While `held`, puts wait for `release()` (a
 * first line, such as a list, goes before them). `finish(last)` drops what waits, sends `last`
 * and closes; `maxMs` closes the body after that long (the page opens another). Its timers end
 * with the body.
 */
export function throttledNdjson (signal: AbortSignal | undefined, opts: { everyMs: number, maxMs?: number, held?: boolean }): {
  body: ReadableStream<Uint8Array>
  send: (value: unknown) => void
  put: (key: string, value: unknown) => void
  release: () => void
  finish: (last?: unknown) => void
  close: () => void
  ended: AbortSignal
} {
  const { body, send, close, ended } = ndjsonStream(signal)
  const latest = new Map<string, unknown>()
  let held = opts.held === true
  let timer: ReturnType<typeof setTimeout> | undefined
  const flush = (): void => { timer = undefined; for (const v of latest.values()) send(v); latest.clear() }
  const limit = opts.maxMs != null ? setTimeout(close, opts.maxMs) : undefined
  ended.addEventListener('abort', () => { clearTimeout(timer); clearTimeout(limit) }, { once: true })
  return {
    body,
    send,
    put: (key, value) => {
      if (ended.aborted) return
      latest.delete(key)
      latest.set(key, value)
      if (!held) timer ??= setTimeout(flush, opts.everyMs)
    },
    release: () => { held = false; if (!ended.aborted) timer ??= setTimeout(flush, opts.everyMs) },
    finish: last => { clearTimeout(timer); latest.clear(); if (last != null) send(last); close() },
    close,
    ended
  }
}
