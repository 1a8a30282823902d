import { describe, expect, it } from 'vitest'
import { BODY_LIMITS, BridgeBodyError, carrierFor, receiveBody, sendBody, streamsTransfer, wireBodyOf } from './body-carrier.ts'
import type { BodyLimits, Carrier, WireBody } from './body-carrier.ts'
import { LightcafeError } from '../shared/errors.ts'

// Both carriers over real MessageChannels in Node (which transfers streams, as Chromium and
// Firefox do): what crosses, in which order, and how each end stops.

const small: BodyLimits = { windowBytes: 64 * 1024, chunkBytes: 16 * 1024, sendIdleMs: 300 }

/** Posts the wire across a real MessageChannel, as the bridge does, and returns what arrives. */
async function across (wire: WireBody, transfer: Transferable[]): Promise<WireBody> {
  const { port1, port2 } = new MessageChannel()
  const got = new Promise<unknown>(resolve => { port2.onmessage = ev => { resolve(ev.data) } })
  port1.postMessage({ body: wire }, transfer)
  const data = await got as { body: unknown }
  port1.close()
  port2.close()
  return wireBodyOf(data.body)!
}

function pattern (size: number, seed = 7): Uint8Array {
  const out = new Uint8Array(size)
  for (let i = 0; i < size; i++) out[i] = (i * seed + (i >> 9)) & 0xff
  return out
}

/** A source that gives `chunks` one per pull and counts what it gave; `cancelled` resolves with the reason. */
function source (chunks: Uint8Array[], end: 'close' | 'hang' | Error = 'close'): { stream: ReadableStream<Uint8Array>, given: () => number, cancelled: Promise<unknown> } {
  let given = 0
  let onCancel: (r: unknown) => void = () => {}
  const cancelled = new Promise<unknown>(resolve => { onCancel = resolve })
  const stream = new ReadableStream<Uint8Array>({
    async pull (c) {
      const next = chunks.shift()
      if (next != null) { given += next.byteLength; c.enqueue(next); return }
      if (end === 'close') c.close()
      else if (end instanceof Error) c.error(end)
      else await new Promise(() => {}) // a long-lived stream with nothing more to say yet
    },
    cancel (reason) { onCancel(reason) }
  }, { highWaterMark: 0 })
  return { stream, given: () => given, cancelled }
}

const bytesOf = async (stream: ReadableStream<Uint8Array>): Promise<Uint8Array> => new Uint8Array(await new Response(stream).arrayBuffer())

it('Node transfers streams, so both carriers run here', () => {
  expect(streamsTransfer()).toBe(true)
  expect(carrierFor(null)).toBe('stream')
  expect(carrierFor('port')).toBe('port')
})

describe.each<Carrier>(['stream', 'port'])('the %s carrier', carrier => {
  it('carries every byte in order, chunks of any size split to the chunk bound', async () => {
    const data = pattern(300 * 1024 + 5)
    const chunks = [data.subarray(0, 1), data.subarray(1, 70_000), data.subarray(70_000, 70_000), data.subarray(70_000)]
    const src = source(chunks)
    const sent = sendBody(src.stream, carrier, small)
    const got = receiveBody(await across(sent.wire, sent.transfer), { limits: small })
    const seen: number[] = []
    const reader = got.stream.getReader()
    const parts: Uint8Array[] = []
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      seen.push(value.byteLength)
      parts.push(value)
    }
    const whole = Buffer.concat(parts)
    expect(whole.equals(data)).toBe(true)
    expect(Math.max(...seen)).toBeLessThanOrEqual(small.chunkBytes)
    await sent.done
    await got.done
  })

  it('leaves the source\'s own chunks untouched (the bytes sent are copies)', async () => {
    const chunk = pattern(40_000)
    const kept = chunk.slice()
    const sent = sendBody(source([chunk]).stream, carrier, small)
    const got = receiveBody(await across(sent.wire, sent.transfer), { limits: small })
    expect(Buffer.from(await bytesOf(got.stream)).equals(kept)).toBe(true)
    expect(chunk.byteLength).toBe(40_000)
    expect(Buffer.from(chunk).equals(kept)).toBe(true)
  })

  it('an empty body arrives empty', async () => {
    const sent = sendBody(source([]).stream, carrier, small)
    const got = receiveBody(await across(sent.wire, sent.transfer), { limits: small })
    expect((await bytesOf(got.stream)).byteLength).toBe(0)
  })

  it('holds back while the consumer reads nothing: the sender reads at most a window (and a chunk) ahead', async () => {
    const chunks = Array.from({ length: 40 }, (_, i) => pattern(8 * 1024, i + 1))
    const src = source(chunks)
    const sent = sendBody(src.stream, carrier, small)
    const got = receiveBody(await across(sent.wire, sent.transfer), { limits: small })
    const reader = got.stream.getReader()
    await reader.read()
    // Let it run as far as it will; what it may read ahead is bounded by the window.
    await new Promise(resolve => setTimeout(resolve, 200))
    expect(src.given()).toBeLessThanOrEqual(small.windowBytes * 2 + small.chunkBytes)
    expect(src.given()).toBeLessThan(40 * 8 * 1024)
    let rest = 0
    for (;;) { const { done, value } = await reader.read(); if (done) break; rest += value.byteLength }
    expect(rest).toBe(39 * 8 * 1024)
  })

  it('a source that fails reaches the receiver as a BridgeBodyError with its reason', async () => {
    const sent = sendBody(source([pattern(100)], new LightcafeError('DECRYPTION_FAILED', 'bad tag')).stream, carrier, small)
    const reader = receiveBody(await across(sent.wire, sent.transfer), { limits: small }).stream.getReader()
    expect((await reader.read()).value?.byteLength).toBe(100)
    const err = await reader.read().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(BridgeBodyError)
    expect(err).toMatchObject({ reason: 'DECRYPTION_FAILED', message: 'bad tag' })
  })

  it('a source that throws something of its own reaches the receiver as BRIDGE_ERROR', async () => {
    const sent = sendBody(source([], new TypeError('disk on fire')).stream, carrier, small)
    const reader = receiveBody(await across(sent.wire, sent.transfer), { limits: small }).stream.getReader()
    const err = await reader.read().catch((e: unknown) => e)
    expect(err).toMatchObject({ name: 'BridgeBodyError', reason: 'BRIDGE_ERROR' })
    expect((err as Error).message).toContain('disk on fire')
  })

  it('a consumer that cancels cancels the source, even one waiting for its next chunk', async () => {
    const src = source([pattern(1000)], 'hang')
    const sent = sendBody(src.stream, carrier, small)
    const got = receiveBody(await across(sent.wire, sent.transfer), { limits: small })
    const reader = got.stream.getReader()
    expect((await reader.read()).value?.byteLength).toBe(1000)
    await reader.cancel(new Error('the caller went away'))
    // The same reason whichever carrier brought the body.
    const reason = await src.cancelled
    expect(reason).toMatchObject({ name: 'BridgeBodyError', reason: 'BODY_ABANDONED' })
    expect((reason as Error).message).toContain('the caller went away')
    await sent.done
    await got.done
  })

  it('a receiver that takes nothing: the sender gives up after sendIdleMs and cancels its source (BODY_TIMEOUT)', async () => {
    const src = source(Array.from({ length: 20 }, () => pattern(16 * 1024)), 'close')
    const sent = sendBody(src.stream, carrier, small)
    // The receiving side never reads (a page or worker that went away without a word).
    const far = await across(sent.wire, sent.transfer)
    if (far.carrier === 'port') far.port.start() // held open, never answered
    const reason = await src.cancelled
    expect(reason).toMatchObject({ reason: 'BODY_TIMEOUT' })
    await sent.done
    if (far.carrier === 'port') far.port.close()
  })

  it('abort (the other side went away) cancels the source and fails the receiver', async () => {
    const src = source([pattern(10)], 'hang')
    const sent = sendBody(src.stream, carrier, small)
    const reader = receiveBody(await across(sent.wire, sent.transfer), { limits: small }).stream.getReader()
    await reader.read()
    sent.abort(new BridgeBodyError('NODE_NOT_READY', 'the node page went away'))
    expect(await src.cancelled).toMatchObject({ reason: 'NODE_NOT_READY' })
    expect(await reader.read().catch((e: unknown) => e)).toMatchObject({ reason: 'NODE_NOT_READY' })
  })

  it('fail (the other side went away) errors the body and cancels the sender\'s source', async () => {
    const src = source([pattern(10)], 'hang')
    const sent = sendBody(src.stream, carrier, small)
    const got = receiveBody(await across(sent.wire, sent.transfer), { limits: small })
    const reader = got.stream.getReader()
    await reader.read()
    const pending = reader.read().catch((e: unknown) => e)
    got.fail(new BridgeBodyError('NODE_NOT_READY', 'gone'))
    expect(await pending).toMatchObject({ reason: 'NODE_NOT_READY' })
    const reason = await src.cancelled
    expect(reason).toMatchObject({ name: 'BridgeBodyError', reason: 'BODY_ABANDONED' })
    expect((reason as Error).message).toContain('gone')
  })

  it('a request body that stalls errors after idleMs (BODY_TIMEOUT) and cancels its source', async () => {
    const src = source([pattern(10)], 'hang')
    const sent = sendBody(src.stream, carrier, small)
    const reader = receiveBody(await across(sent.wire, sent.transfer), { idleMs: 200, limits: small }).stream.getReader()
    await reader.read()
    expect(await reader.read().catch((e: unknown) => e)).toMatchObject({ name: 'BridgeBodyError', reason: 'BODY_TIMEOUT', status: 504 })
    await src.cancelled
  })
})

describe('the port carrier against a sender that breaks its protocol', () => {
  it('a chunk past the credit fails the body (BRIDGE_ERROR) and the sender is told to stop', async () => {
    const { port1, port2 } = new MessageChannel()
    const told = new Promise<unknown[]>(resolve => {
      const seen: unknown[] = []
      port1.onmessage = ev => { seen.push(ev.data); if ((ev.data as { t: string }).t === 'cancel') resolve(seen) }
    })
    const reader = receiveBody({ carrier: 'port', port: port2 }, { limits: small }).stream.getReader()
    const big = new ArrayBuffer(small.chunkBytes + 1)
    port1.postMessage({ t: 'chunk', data: big }, [big])
    expect(await reader.read().catch((e: unknown) => e)).toMatchObject({ reason: 'BRIDGE_ERROR' })
    expect(await told).toEqual([{ t: 'credit', bytes: small.windowBytes }, { t: 'cancel', details: 'a chunk past the credit granted' }])
    port1.close()
  })

  it('a malformed message fails the body', async () => {
    const { port1, port2 } = new MessageChannel()
    const reader = receiveBody({ carrier: 'port', port: port2 }, { limits: small }).stream.getReader()
    port1.postMessage({ t: 'chunk', data: 'not bytes' })
    expect(await reader.read().catch((e: unknown) => e)).toMatchObject({ reason: 'BRIDGE_ERROR' })
    port1.close()
  })

  it('never sends more than the credit it holds', async () => {
    const { port1, port2 } = new MessageChannel()
    const sent = sendBody(source(Array.from({ length: 10 }, () => pattern(10_000))).stream, 'port', small)
    const far = (sent.wire as { port: MessagePort }).port
    // A receiver by hand: 25,000 bytes of credit, then 50,000 more once they are used.
    let granted = 25_000
    let received = 0
    const over: number[] = []
    const ended = new Promise<void>(resolve => {
      far.onmessage = ev => {
        const m = ev.data as { t: string, data?: ArrayBuffer }
        if (m.t === 'chunk') {
          received += m.data!.byteLength
          if (received > granted) over.push(received)
          if (received === 25_000) { granted += 50_000; far.postMessage({ t: 'credit', bytes: 50_000 }) }
          if (received === 75_000) { granted += 1_000_000; far.postMessage({ t: 'credit', bytes: 1_000_000 }) }
        }
        if (m.t === 'end') resolve()
      }
    })
    far.postMessage({ t: 'credit', bytes: 25_000 })
    await ended
    expect(over).toEqual([])
    expect(received).toBe(100_000)
    await sent.done
    port1.close(); port2.close(); far.close()
  })
})

it('a wire body that is neither a stream nor a port is refused (BRIDGE_ERROR)', () => {
  expect(wireBodyOf(null)).toBeNull()
  expect(() => wireBodyOf({ carrier: 'port', port: 'x' })).toThrow(BridgeBodyError)
  expect(() => wireBodyOf({ carrier: 'stream', stream: {} })).toThrow(BridgeBodyError)
  expect(() => wireBodyOf('bytes')).toThrow(BridgeBodyError)
})

it('the default limits bound a body to a megabyte in flight', () => {
  expect(BODY_LIMITS.windowBytes).toBe(1024 * 1024)
  expect(BODY_LIMITS.chunkBytes).toBeLessThanOrEqual(BODY_LIMITS.windowBytes)
})
