import { lpStream } from '@libp2p/utils'
import type { AbortOptions, Stream } from '@libp2p/interface'

export interface JsonMessages {
  read: (options: AbortOptions) => Promise<unknown>
  write: (value: unknown, options: AbortOptions) => Promise<void>
}

/** Length-prefixed JSON messages on a stream, each within `maxBytes` (our small request/answer protocols). */
export function jsonMessages (stream: Stream, maxBytes: number): JsonMessages {
  const lp = lpStream(stream, { maxDataLength: maxBytes })
  return {
    read: async (options) => JSON.parse(new TextDecoder().decode((await lp.read(options)).subarray())),
    write: async (value, options) => { await lp.write(new TextEncoder().encode(JSON.stringify(value)), options) }
  }
}
