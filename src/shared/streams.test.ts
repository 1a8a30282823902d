import { describe, expect, it } from 'vitest'
import { ByteReader, boundedChunks, ndjsonLines, readBody, readJson } from './streams.ts'

/** A body that yields `chunk` forever (or `count` times), and records whether it was cancelled. */
function body (chunk: Uint8Array, count = Number.POSITIVE_INFINITY): { res: Response, pulled: () => number, cancelled: Promise<unknown> } {
  let pulled = 0
  let onCancel!: (reason: unknown) => void
  const cancelled = new Promise(resolve => { onCancel = resolve })
  const stream = new ReadableStream<Uint8Array>({
    pull (c) {
      if (pulled >= count) { c.close(); return }
      pulled++
      c.enqueue(chunk)
    },
    cancel (reason) { onCancel(reason) }
  }, { highWaterMark: 0 })
  return { res: new Response(stream), pulled: () => pulled, cancelled }
}

describe('bounded body reads', () => {
  it('reads a body within its cap', async () => {
    const b = body(new TextEncoder().encode('{"a":1}'), 1)
    expect(await readJson(b.res, { maxBytes: 7 })).toEqual({ a: 1 })
  })

  it('stops an endless body just past the cap, and cancels it', async () => {
    const b = body(new Uint8Array(1000))
    await expect(readBody(b.res, { maxBytes: 10_000 })).rejects.toMatchObject({ name: 'BodyTooLargeError', reason: 'BODY_TOO_LARGE', status: 413 })
    expect(b.pulled()).toBe(11)
    expect(await b.cancelled).toMatchObject({ reason: 'BODY_TOO_LARGE' })
  })

  it('stops a stalled body when the signal fires between chunks, and cancels it', async () => {
    const stalled = new ReadableStream<Uint8Array>({ start (c) { c.enqueue(new Uint8Array(10)) } })
    const deadline = new AbortController()
    const chunks = boundedChunks(stalled, { maxBytes: 100, signal: deadline.signal })
    expect((await chunks.next()).value).toHaveLength(10)
    const next = chunks.next()
    deadline.abort()
    await expect(next).rejects.toMatchObject({ name: 'BodyTimeoutError', reason: 'BODY_TIMEOUT' })
  })

  it('refuses at once when the signal already fired', async () => {
    const b = body(new Uint8Array(1))
    await expect(readBody(b.res, { maxBytes: 100, signal: AbortSignal.abort() })).rejects.toMatchObject({ reason: 'BODY_TIMEOUT' })
    await b.cancelled
  })

  it('names malformed JSON INVALID_JSON', async () => {
    await expect(readJson(new Response('{nope'), { maxBytes: 100 })).rejects.toMatchObject({ reason: 'INVALID_JSON', status: 502 })
  })
})

describe('ByteReader', () => {
  async function * chunks (...parts: number[][]): AsyncGenerator<Uint8Array> { for (const p of parts) yield Uint8Array.from(p) }

  it('reads varints and exact lengths across chunk borders, pulling no more than it needs', async () => {
    const r = new ByteReader(chunks([0xac], [0x02, 1, 2], [3, 4], [9, 9, 9]))
    expect(await r.varint()).toBe(300)
    expect(r.consumed).toBe(4)
    expect([...await r.exactly(4)]).toEqual([1, 2, 3, 4])
    expect(r.consumed).toBe(6)
    expect(await r.atEnd()).toBe(false)
  })

  it('refuses a varint above 2^53 and a source that ends early', async () => {
    await expect(new ByteReader(chunks(Array(9).fill(0xff))).varint()).rejects.toThrow(RangeError)
    await expect(new ByteReader(chunks([0x80])).varint()).rejects.toMatchObject({ name: 'UnexpectedEndError' })
    await expect(new ByteReader(chunks([1, 2])).exactly(3)).rejects.toMatchObject({ name: 'UnexpectedEndError' })
    expect(await new ByteReader(chunks()).atEnd()).toBe(true)
  })
})

describe('ndjsonLines', () => {
  const streamOf = (parts: Uint8Array[]): ReadableStream<Uint8Array> => new ReadableStream({
    start (c) { for (const p of parts) c.enqueue(p); c.close() }
  })

  it('yields each line parsed, across chunk borders (a character split too), skipping blank lines', async () => {
    const text = new TextEncoder().encode('{"a":1}\n\n{"name":"Zoë"}\n  \n[2,3]\n')
    const cut = text.indexOf(0xc3) + 1 // inside the two bytes of ë
    const got: unknown[] = []
    for await (const v of ndjsonLines(streamOf([text.subarray(0, 3), text.subarray(3, cut), text.subarray(cut)]))) got.push(v)
    expect(got).toEqual([{ a: 1 }, { name: 'Zoë' }, [2, 3]])
  })

  it('throws on a line that is not JSON, and releases the stream either way', async () => {
    const stream = streamOf([new TextEncoder().encode('{"ok":true}\nnot json\n')])
    const got: unknown[] = []
    await expect((async () => { for await (const v of ndjsonLines(stream)) got.push(v) })()).rejects.toThrow(SyntaxError)
    expect(got).toEqual([{ ok: true }])
    expect(stream.locked).toBe(false)
  })
})
