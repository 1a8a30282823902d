import fc from 'fast-check'
import { Uint8ArrayList } from 'uint8arraylist'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { readBounded } from '../../shared/json.ts'
import { HTTP_LIMITS, HTTP_PROTOCOL, httpOverLibp2p } from './index.ts'
import { tcpTestNode as node } from '../../../test/fixtures/tcp-node.ts'
import type { HttpOverLibp2p } from './index.ts'
import type { Libp2p, Stream } from '@libp2p/interface'

/**
 * Property-based fuzzing of the HTTP-over-libp2p framing against real nodes over TCP: any
 * sequence of bytes a stranger sends (random frames, garbage, truncated frames, oversized
 * length prefixes, wrong types, frames after the end) gets an answer or a reset, never a crash
 * or a handler held open; any garbage a hostile server answers with is a clean error for the
 * caller. Short limits keep each run quick; runs are few, so the unit suite stays fast.
 */

const enc = new TextEncoder()
const varint = (n: number): number[] => { const out: number[] = []; while (n >= 0x80) { out.push((n % 0x80) | 0x80); n = Math.floor(n / 0x80) } out.push(n); return out }
const lp = (bytes: Uint8Array): Uint8Array => new Uint8Array([...varint(bytes.byteLength), ...bytes])
const concat = (parts: Uint8Array[]): Uint8Array => new Uint8ArrayList(...parts).subarray()

const head = fc.record({
  m: fc.oneof(fc.constantFrom('GET', 'POST', 'PUT', 'HEAD', 'DELETE'), fc.string({ maxLength: 12 })),
  u: fc.oneof(fc.constantFrom('/echo', '/big', '/nothing', '/'), fc.string({ maxLength: 40 })),
  h: fc.oneof(fc.constant([] as unknown[]), fc.array(fc.tuple(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 })), { maxLength: 4 }), fc.anything())
}).map(h => enc.encode(JSON.stringify(h)))

/** One piece of what a peer sends: a frame (well-formed or not), raw garbage, a lying length prefix or a cut frame. */
const piece: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.constantFrom(0x48, 0x44, 0x45, 0x41), fc.oneof(head, fc.uint8Array({ maxLength: 300 }))).map(([t, d]) => lp(new Uint8Array([t, ...d]))) },
  { weight: 2, arbitrary: fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 64 })).map(([t, d]) => lp(new Uint8Array([t, ...d]))) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 64 }) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: HTTP_LIMITS.frameBytes + 2, max: 2 ** 40 }), fc.uint8Array({ maxLength: 32 })).map(([n, d]) => new Uint8Array([...varint(n), ...d])) },
  { weight: 1, arbitrary: fc.tuple(head, fc.nat()).map(([h, cut]) => { const f = lp(new Uint8Array([0x48, ...h])); return f.subarray(0, cut % f.byteLength) }) },
  { weight: 1, arbitrary: fc.constant(lp(Uint8Array.of(0x41, 0xff, 0xff, 0xff, 0xff))) }
)

/** A well-formed request first (so the garbage after it lands mid-exchange), or not. */
const validStart = fc.constantFrom(
  new Uint8Array(),
  concat([lp(new Uint8Array([0x48, ...enc.encode(JSON.stringify({ m: 'POST', u: '/echo', h: [] }))])), lp(new Uint8Array([0x44, 1, 2, 3])), lp(Uint8Array.of(0x45))]),
  concat([lp(new Uint8Array([0x48, ...enc.encode(JSON.stringify({ m: 'GET', u: '/big', h: [] }))])), lp(Uint8Array.of(0x45))])
)

/** What a hostile server answers first: nothing, a response head (valid or not), or a head and some body. */
const responseHead = fc.record({ s: fc.oneof(fc.integer({ min: 200, max: 599 }), fc.anything()), h: fc.oneof(fc.constant([] as unknown[]), fc.anything()) }).map(h => lp(new Uint8Array([0x48, ...enc.encode(JSON.stringify(h))])))
const responseStart = fc.oneof(
  fc.constant([] as Uint8Array[]),
  responseHead.map(h => [h]),
  fc.constant([lp(new Uint8Array([0x48, ...enc.encode(JSON.stringify({ s: 200, h: [] }))])), lp(new Uint8Array([0x44, ...new Uint8Array(100)]))])
)

const ended = async (stream: Stream): Promise<void> => {
  if (stream.status !== 'open') return
  await new Promise(resolve => { stream.addEventListener('close', resolve, { once: true }) })
}

describe('HTTP over libp2p framing, fuzzed', () => {
  let server: Libp2p<{ http: HttpOverLibp2p }>
  let client: Libp2p<{ http: HttpOverLibp2p }>
  let inflight = 0
  let openBodies = 0
  let maxBuffered = 0
  const cap = 64 * 1024

  beforeAll(async () => {
    server = await node(true, { http: httpOverLibp2p({ limits: { headTimeoutMs: 100, serverIdleMs: 100, bodyIdleMs: 100, sendIdleMs: 100 } }) })
    client = await node(false, { http: httpOverLibp2p() })
    await server.services.http.serve(async (req) => {
      inflight++
      try {
        const path = new URL(req.url).pathname
        if (path === '/big') {
          let sent = 0
          openBodies++
          let open = true
          const close = (): void => { if (open) { open = false; openBodies-- } }
          return new Response(new ReadableStream<Uint8Array>({
            pull (c) { if (sent >= 3 * 1024 * 1024) { c.close(); close(); return } sent += 64 * 1024; c.enqueue(new Uint8Array(64 * 1024)) },
            cancel () { close() }
          }, { highWaterMark: 0 }))
        }
        const bytes = req.body == null ? new Uint8Array() : await readBounded(req, cap)
        maxBuffered = Math.max(maxBuffered, bytes.byteLength)
        return Response.json({ bytes: bytes.byteLength })
      } finally {
        inflight--
      }
    })
  })
  afterAll(async () => { await client?.stop(); await server?.stop() })

  it('answers or resets any bytes a stranger sends, and holds nothing afterwards', async () => {
    const serverStreams = (): number => server.getConnections(client.peerId).flatMap(c => c.streams).filter(s => s.protocol === HTTP_PROTOCOL).length
    let runs = 0
    await fc.assert(fc.asyncProperty(validStart, fc.array(piece, { maxLength: 8 }), fc.boolean(), async (start, pieces, closeWrite) => {
      runs++
      const stream = await client.dialProtocol(server.getMultiaddrs()[0], HTTP_PROTOCOL)
      // Whatever comes back is read and dropped; the stream must end (answered, closed or reset).
      const reading = (async () => { try { for await (const _ of stream) { /* dropped */ } } catch { /* reset */ } })()
      try {
        for (const bytes of [start, ...pieces]) if (bytes.byteLength > 0 && stream.status === 'open') stream.send(bytes)
        if (closeWrite && stream.status === 'open') await stream.close().catch(() => {})
      } catch { /* the server may reset it while we send */ }
      await ended(stream).catch(() => {})
      await reading
      await vi.waitFor(() => { expect({ inflight, openBodies, streams: serverStreams() }).toEqual({ inflight: 0, openBodies: 0, streams: 0 }) }, { timeout: 10_000, interval: 10 })
      expect(maxBuffered).toBeLessThanOrEqual(cap)
    }), { numRuns: 60 })
    expect(runs).toBe(60)
    // And the node still serves a well-behaved caller.
    const res = await client.services.http.fetch(server.peerId, new Request('http://x/echo', { method: 'POST', body: 'hello' }))
    expect(await res.json()).toEqual({ bytes: 5 })
  }, 60_000)

  it('turns any garbage a hostile server answers with into a clean error for the caller', async () => {
    const hostile = await node(true)
    let answer: Uint8Array[] = []
    await hostile.handle(HTTP_PROTOCOL, async (stream) => {
      for (const bytes of answer) if (stream.status === 'open') stream.send(bytes)
      // Then silence: the caller's idle limit or deadline must end it.
    })
    try {
      let runs = 0
      await fc.assert(fc.asyncProperty(responseStart, fc.array(piece, { maxLength: 8 }), async (start, pieces) => {
        runs++
        answer = [...start, ...pieces]
        const deadline = new AbortController()
        const timer = setTimeout(() => { deadline.abort() }, 150)
        try {
          const res = await client.services.http.fetch(hostile.getMultiaddrs()[0], new Request('http://x/'), { signal: deadline.signal, maxBodyBytes: 1024, bodyIdleMs: 100 })
          await res.arrayBuffer() // a body that ends is fine too
        } catch (err) {
          expect(err).toBeInstanceOf(Error)
        } finally {
          clearTimeout(timer)
        }
        // The caller's stream to the hostile server is gone (reset, or closed and not pooled as open).
        const streams = client.getConnections(hostile.peerId).flatMap(c => c.streams).filter(s => s.protocol === HTTP_PROTOCOL && s.status === 'open' && s.readStatus !== 'readable')
        expect(streams).toHaveLength(0)
      }), { numRuns: 40 })
      expect(runs).toBe(40)
    } finally {
      await hostile.stop()
    }
  }, 60_000)
})
