/**
 * Reads `source` while the signal holds and chunks keep coming: a gap longer than `idleMs`
 * throws `idle()`, an abort throws the signal's reason. The source is told to stop: its
 * `return` is awaited when the consumer stopped between chunks, and only called when a read
 * is still pending (a stalled source may never answer it).
 */
export async function * guarded<T> (source: AsyncIterable<T>, signal: AbortSignal, idleMs: number, idle: () => Error): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]()
  let finished = false
  let pending = false
  try {
    for (;;) {
      signal.throwIfAborted()
      let timer: ReturnType<typeof setTimeout> | undefined
      let onAbort: (() => void) | undefined
      const stop = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => { reject(idle()) }, idleMs)
        onAbort = () => { reject(signal.reason) }
        signal.addEventListener('abort', onAbort, { once: true })
      })
      try {
        pending = true
        const step = await Promise.race([it.next(), stop])
        pending = false
        if (step.done === true) { finished = true; return }
        yield step.value
      } finally {
        clearTimeout(timer)
        signal.removeEventListener('abort', onAbort!)
      }
    }
  } finally {
    if (finished) { /* nothing to stop */ } else if (pending) it.return?.().catch(() => {})
    else await it.return?.()
  }
}

/** `p`, or the signal's reason as soon as it aborts (for a callee that may ignore the signal). */
export async function abortable<T> (p: Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted()
  let onAbort: (() => void) | undefined
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => { reject(signal.reason) }
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([p, aborted])
  } finally {
    signal.removeEventListener('abort', onAbort!)
  }
}

/** `chunks`, cut with `tooLarge()` once they pass `maxBytes` (an upload's or a pull's CAR). */
export async function * capped (chunks: AsyncIterable<Uint8Array>, maxBytes: number, tooLarge: () => Error): AsyncGenerator<Uint8Array> {
  let size = 0
  for await (const c of chunks) {
    size += c.byteLength
    if (size > maxBytes) throw tooLarge()
    yield c
  }
}
