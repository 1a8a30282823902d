import { lpStream } from '@libp2p/utils'
import { Uint8ArrayList } from 'uint8arraylist'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { readBody } from '../../shared/streams.ts'
import { HTTP_LIMITS, HTTP_PROTOCOL, httpOverLibp2p } from './index.ts'
import { tcpTestNode as node } from '../../../test/fixtures/tcp-node.ts'
import type { HttpOverLibp2p, Libp2pHttpHandler } from './index.ts'
import type { Libp2p, Stream } from '@libp2p/interface'

const enc = new TextEncoder()
const frame = (type: string, data: Uint8Array = new Uint8Array()): Uint8ArrayList => new Uint8ArrayList(enc.encode(type), data)
const head = (m: string, u: string): Uint8ArrayList => frame('H', enc.encode(JSON.stringify({ m, u, h: [] })))
const closed = async (stream: Stream): Promise<void> => { if (stream.status === 'open') await new Promise(resolve => { stream.addEventListener('close', resolve, { once: true }) }) }
const httpStreams = (libp2p: Libp2p, peer: Libp2p): number => libp2p.getConnections(peer.peerId).flatMap(c => c.streams).filter(s => s.protocol === HTTP_PROTOCOL).length
function deferred<T = void> (): { promise: Promise<T>, resolve: (v: T) => void } {
  let resolve!: (v: T) => void
  const promise = new Promise<T>(r => { resolve = r })
  return { promise, resolve }
}

/**
 * Bounds of the HTTP-over-libp2p framing against hostile or stalled peers. The server runs
 * with short limits, so each test waits only for a timeout to fire (never on the machine's
 * speed: nothing asserts how long anything took).
 */
describe('HTTP over libp2p: every body bounded in bytes and time', () => {
  let server: Libp2p<{ http: HttpOverLibp2p }>
  let client: Libp2p<{ http: HttpOverLibp2p }>
  /**
   * The same routes with the protocol's own limits: a test of the caller's bounds must not
   * race the server's 300 ms send limit on a loaded machine (it reset the stream first).
   */
  let patient: Libp2p<{ http: HttpOverLibp2p }>
  const limits = { headTimeoutMs: 300, bodyIdleMs: 300, sendIdleMs: 300, requestBodyMs: 900 }
  /** Resolved when the server's response body was cancelled (its producer freed). */
  let cancelled = deferred<void>()
  let produced = 0
  const bodyErrors: string[] = []
  let bodyError = deferred<string>()

  beforeAll(async () => {
    server = await node(true, { http: httpOverLibp2p({ limits }) })
    client = await node(false, { http: httpOverLibp2p() })
    const handler: Libp2pHttpHandler = async (req) => {
      const path = new URL(req.url).pathname
      if (path === '/endless') {
        produced = 0
        return new Response(new ReadableStream<Uint8Array>({
          pull (c) { produced += 64 * 1024; c.enqueue(new Uint8Array(64 * 1024).fill(0x20)) },
          cancel () { cancelled.resolve() }
        }, { highWaterMark: 0 }), { headers: { 'content-type': 'application/json' } })
      }
      if (path === '/stall') {
        // One chunk, then nothing ever again.
        return new Response(new ReadableStream<Uint8Array>({
          start (c) { c.enqueue(enc.encode('first')) },
          cancel () { cancelled.resolve() }
        }))
      }
      if (path === '/read') {
        try {
          const bytes = await req.arrayBuffer()
          return Response.json({ bytes: bytes.byteLength })
        } catch (err) {
          const reason = (err as { reason?: string }).reason ?? (err as Error).name
          bodyErrors.push(reason)
          bodyError.resolve(reason)
          return Response.json({ error: { reason, details: (err as Error).message } }, { status: (err as { status?: number }).status ?? 500 })
        }
      }
      return Response.json({ ok: true })
    }
    const routes = { maxRequestBodyBytes: (_m: string, path: string) => path === '/read' ? 64 * 1024 : HTTP_LIMITS.maxRequestBodyBytes }
    await server.services.http.serve(handler, routes)
    patient = await node(true, { http: httpOverLibp2p() })
    await patient.services.http.serve(handler, routes)
    // Later tests reach both by peer id.
    await client.dial(server.getMultiaddrs()[0])
  })
  afterAll(async () => { await client?.stop(); await server?.stop(); await patient?.stop() })

  it('stops an endless answer at the caller\'s cap, frees the stream and the server\'s producer', async () => {
    cancelled = deferred()
    const conn = await client.dial(patient.getMultiaddrs()[0])
    const cap = 1024 * 1024
    const res = await client.services.http.fetch(conn, new Request('http://x/endless'))
    let held = 0
    let maxHeld = 0
    const counting = new Response(res.body!.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({
      transform (chunk, c) { held += chunk.byteLength; maxHeld = Math.max(maxHeld, held); c.enqueue(chunk) }
    })))
    await expect(readBody(counting, { maxBytes: cap })).rejects.toMatchObject({ name: 'BodyTooLargeError', reason: 'BODY_TOO_LARGE' })
    await cancelled.promise
    console.log(`endless answer, cap ${cap}: the caller buffered at most ${maxHeld} bytes; the server produced ${produced} bytes`)
    expect(maxHeld).toBeLessThanOrEqual(cap + HTTP_LIMITS.frameBytes)
    // Flow control: the server ran at most a window ahead of what the caller took.
    expect(produced).toBeLessThanOrEqual(cap + HTTP_LIMITS.windowBytes + 2 * HTTP_LIMITS.frameBytes)
    await vi.waitFor(() => { expect(httpStreams(client, patient)).toBe(0) }, { timeout: 10_000, interval: 20 })
  })

  it('applies maxBodyBytes in the framing itself, whatever reads the body', async () => {
    cancelled = deferred()
    const res = await client.services.http.fetch(patient.peerId, new Request('http://x/endless'), { maxBodyBytes: 100_000 })
    await expect(res.arrayBuffer()).rejects.toMatchObject({ reason: 'BODY_TOO_LARGE' })
    await cancelled.promise
    expect(produced).toBeLessThanOrEqual(100_000 + HTTP_LIMITS.windowBytes + 2 * HTTP_LIMITS.frameBytes)
  })

  it('lets the caller\'s signal cover the body: a stalled answer ends with BODY_TIMEOUT when it fires', async () => {
    cancelled = deferred()
    const deadline = new AbortController()
    const res = await client.services.http.fetch(server.peerId, new Request('http://x/stall'), { signal: deadline.signal, bodyIdleMs: 60_000 })
    const reader = res.body!.getReader()
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('first')
    const next = reader.read()
    deadline.abort()
    await expect(next).rejects.toMatchObject({ reason: 'BODY_TIMEOUT' })
    await cancelled.promise // the stream was reset: the server stopped its producer
  })

  it('frees the stream when the signal fires while nobody reads the body', async () => {
    cancelled = deferred()
    const deadline = new AbortController()
    const res = await client.services.http.fetch(server.peerId, new Request('http://x/endless'), { signal: deadline.signal })
    expect(res.status).toBe(200)
    deadline.abort()
    await cancelled.promise
    await expect(res.arrayBuffer()).rejects.toMatchObject({ reason: 'BODY_TIMEOUT' })
  })

  it('times out an answer whose body stalls between frames (client side)', async () => {
    cancelled = deferred()
    const res = await client.services.http.fetch(server.peerId, new Request('http://x/stall'), { bodyIdleMs: 300 })
    await expect(res.text()).rejects.toMatchObject({ reason: 'BODY_TIMEOUT' })
    await cancelled.promise
  })

  it('closes a stream whose first head never comes (server side)', async () => {
    const silent = await client.dialProtocol(server.getMultiaddrs()[0], HTTP_PROTOCOL)
    await closed(silent)
    expect(silent.status).not.toBe('open')
    // Half a head: a length prefix, then too few bytes.
    const partial = await client.dialProtocol(server.getMultiaddrs()[0], HTTP_PROTOCOL)
    partial.send(Uint8Array.of(100, 0x48, 0x7b))
    await closed(partial)
    expect(partial.status).not.toBe('open')
  })

  it('times out a request body that stalls, and resets its stream (server side)', async () => {
    bodyError = deferred()
    const stream = await client.dialProtocol(server.getMultiaddrs()[0], HTTP_PROTOCOL)
    const lp = lpStream(stream)
    await lp.writeV([head('POST', '/read'), frame('D', enc.encode('part of a body'))])
    expect(await bodyError.promise).toBe('BODY_TIMEOUT')
    await closed(stream)
    expect(stream.status).not.toBe('open')
  })

  it('times out a request body that trickles in, each frame within the idle limit (server side)', async () => {
    bodyError = deferred()
    const stream = await client.dialProtocol(server.getMultiaddrs()[0], HTTP_PROTOCOL)
    const lp = lpStream(stream)
    await lp.write(head('POST', '/read'))
    // One byte every 100 ms, never an end: only the body's total deadline can stop it.
    const trickle = (async () => {
      while (stream.status === 'open') {
        await lp.write(frame('D', Uint8Array.of(1))).catch(() => {})
        await new Promise(resolve => setTimeout(resolve, 100))
      }
    })()
    expect(await bodyError.promise).toBe('BODY_TIMEOUT')
    await closed(stream)
    await trickle
    expect(stream.status).not.toBe('open')
  })

  it('times out a peer that never takes the answer it asked for (server side)', async () => {
    cancelled = deferred()
    const stream = await client.dialProtocol(server.getMultiaddrs()[0], HTTP_PROTOCOL)
    const lp = lpStream(stream, { maxDataLength: 1024 * 1024 })
    await lp.writeV([head('GET', '/endless'), frame('E')])
    // Read what comes, never acknowledge: the server's window fills and it must give up.
    await cancelled.promise
    await closed(stream)
    expect(produced).toBeLessThanOrEqual(HTTP_LIMITS.windowBytes + 2 * HTTP_LIMITS.frameBytes + 64 * 1024)
  })

  it('refuses a request body past the route\'s cap with BODY_TOO_LARGE, reading no further', async () => {
    const before = bodyErrors.length
    const res = await client.services.http.fetch(server.peerId, new Request('http://x/read', { method: 'POST', body: new Uint8Array(200 * 1024) }))
    expect(res.status).toBe(413)
    expect((await res.json()).error.reason).toBe('BODY_TOO_LARGE')
    expect(bodyErrors.slice(before)).toEqual(['BODY_TOO_LARGE'])
    // Within the cap, the same route answers.
    const ok = await client.services.http.fetch(server.peerId, new Request('http://x/read', { method: 'POST', body: new Uint8Array(1000) }))
    expect(await ok.json()).toEqual({ bytes: 1000 })
  })
})
