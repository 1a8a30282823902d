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
