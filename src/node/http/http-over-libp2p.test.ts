import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HTTP_LIMITS, HTTP_PROTOCOL, ProtocolRefusedError, httpOverLibp2p } from './index.ts'
import { tcpTestNode as node } from '../../../test/fixtures/tcp-node.ts'
import { iterateStream } from '../../shared/streams.ts'
import type { HttpOverLibp2p } from './index.ts'
import type { Libp2p } from '@libp2p/interface'

describe('HTTP over a libp2p stream', () => {
  let server: Libp2p<{ http: HttpOverLibp2p }>
  let client: Libp2p<{ http: HttpOverLibp2p }>
  let sawFirst!: () => void
  const firstSeen = { promise: new Promise<void>(resolve => { sawFirst = resolve }), resolve: () => { sawFirst() } }
  const seen: Array<{ url: string, method: string, peer: string, bytes: number }> = []
  let produced = 0

  beforeAll(async () => {
    server = await node(true, { http: httpOverLibp2p() })
    client = await node(false, { http: httpOverLibp2p() })
    await server.services.http.serve(async (req, info) => {
      if (new URL(req.url).pathname === '/ignore-body') return Response.json({ ignored: true })
      if (new URL(req.url).pathname === '/slow') {
        // A slow consumer: how far ahead of it did the sender get?
        let consumed = 0
        let maxAhead = 0
        for await (const chunk of iterateStream(req.body!)) {
          consumed += chunk.byteLength
          maxAhead = Math.max(maxAhead, produced - consumed)
          await new Promise(resolve => setTimeout(resolve, 2))
        }
        return Response.json({ consumed, maxAhead })
      }
      if (new URL(req.url).pathname === '/live') {
        // A live stream: the second chunk exists only after the client has seen the first.
        return new Response(new ReadableStream<Uint8Array>({
          async start (c) {
            c.enqueue(new TextEncoder().encode('first'))
            await firstSeen.promise
            c.enqueue(new TextEncoder().encode('second'))
            c.close()
          }
        }))
      }
      const body = req.method === 'GET' ? new Uint8Array() : new Uint8Array(await req.arrayBuffer())
      seen.push({ url: req.url, method: req.method, peer: info.remotePeer, bytes: body.byteLength })
      const url = new URL(req.url)
      if (url.pathname === '/empty') return new Response(null, { status: 204 })
      if (url.pathname === '/echo') return new Response(body, { headers: { 'x-len': String(body.byteLength) } })
      if (url.pathname === '/boom') throw new Error('handler bug')
      return Response.json({ path: url.pathname, query: url.search, auth: req.headers.get('authorization') })
    }, { maxRequestBodyBytes: () => 64 * 1024 * 1024 })
  })
  afterAll(async () => { await client?.stop(); await server?.stop() })

  it('keeps the path, the query string and headers, and names the authenticated caller', async () => {
    const res = await client.services.http.fetch(server.getMultiaddrs()[0], new Request('http://x/cafe/v1/pins?status=pinned&limit=2', { headers: { authorization: 'Bearer abc' } }))
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ path: '/cafe/v1/pins', query: '?status=pinned&limit=2', auth: 'Bearer abc' })
    expect(seen.at(-1)?.peer).toBe(client.peerId.toString())
  })

  it('streams a 5 MiB body there and back, byte for byte', async () => {
    const data = new Uint8Array(5 * 1024 * 1024)
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + 7) & 0xff
    const body = new ReadableStream<Uint8Array>({
      start (c) { for (let i = 0; i < data.length; i += 100_000) c.enqueue(data.subarray(i, i + 100_000)); c.close() }
    })
    const res = await client.services.http.fetch(server.peerId, new Request('http://x/echo', { method: 'POST', body, duplex: 'half' } as RequestInit))
    expect(res.headers.get('x-len')).toBe(String(data.length))
    const back = new Uint8Array(await res.arrayBuffer())
    expect(back.length).toBe(data.length)
    expect(Buffer.compare(back, data)).toBe(0)
  })

  it('handles bodiless responses and turns a handler crash into a 500 JSON error', async () => {
    const empty = await client.services.http.fetch(server.peerId, new Request('http://x/empty', { method: 'DELETE' }))
    expect(empty.status).toBe(204)
    const boom = await client.services.http.fetch(server.peerId, new Request('http://x/boom'))
    expect(boom.status).toBe(500)
    expect((await boom.json()).error.reason).toBe('INTERNAL')
  })

  it('serves many requests concurrently on one connection', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
      const res = await client.services.http.fetch(server.peerId, new Request(`http://x/n/${i}`))
      return (await res.json()).path
    }))
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => `/n/${i}`))
  })

  it('keeps streams alive: sequential requests reuse one stream, even when a handler ignores the body', async () => {
    const conn = client.getConnections(server.peerId)[0]
    const httpStreams = (): number => conn.streams.filter(st => st.protocol === HTTP_PROTOCOL).length
    await (await client.services.http.fetch(conn, new Request('http://x/warm'))).arrayBuffer()
    const before = httpStreams()
    for (let i = 0; i < 10; i++) {
      const res = await client.services.http.fetch(conn, new Request('http://x/ignore-body', { method: 'POST', body: new Uint8Array(100_000) }))
      expect(await res.json()).toEqual({ ignored: true })
      const ok = await client.services.http.fetch(conn, new Request(`http://x/seq/${i}`))
      expect((await ok.json()).path).toBe(`/seq/${i}`)
    }
    expect(before).toBeGreaterThan(0)
    expect(httpStreams()).toBe(before)
  })

  it('keeps a fast sender within the flow-control window of a slow reader', async () => {
    produced = 0
    const total = 8 * 1024 * 1024
    const body = new ReadableStream<Uint8Array>({
      pull (c) {
        if (produced >= total) { c.close(); return }
        produced += 64 * 1024
        c.enqueue(new Uint8Array(64 * 1024))
      }
    }, { highWaterMark: 0 })
    const res = await client.services.http.fetch(server.peerId, new Request('http://x/slow', { method: 'POST', body, duplex: 'half' } as RequestInit))
    const { consumed, maxAhead } = await res.json()
    expect(consumed).toBe(total)
    // Window + one frame being coalesced + one chunk read ahead; without flow control the
    // libp2p read buffer and yamux window let the sender run megabytes ahead.
    expect(maxAhead).toBeLessThanOrEqual(HTTP_LIMITS.windowBytes + HTTP_LIMITS.frameBytes + 64 * 1024)
  }, 30_000)

  it('returns a stream whose response body was cancelled to the pool (no leak past the stream limit)', async () => {
    const conn = client.getConnections(server.peerId)[0]
    const before = conn.streams.filter(st => st.protocol === HTTP_PROTOCOL).length
    for (let i = 0; i < HTTP_LIMITS.maxInboundStreams + 10; i++) {
      const res = await client.services.http.fetch(conn, new Request(`http://x/cancelled/${i}`))
      await res.body!.cancel()
    }
    const ok = await client.services.http.fetch(conn, new Request('http://x/after-cancel'))
    expect((await ok.json()).path).toBe('/after-cancel')
    expect(conn.streams.filter(st => st.protocol === HTTP_PROTOCOL).length).toBeLessThanOrEqual(before + 1)
  })

  it('does not reuse a stream the server closes after an unread body larger than it drains', async () => {
    const conn = client.getConnections(server.peerId)[0]
    for (let i = 0; i < 3; i++) {
      const res = await client.services.http.fetch(conn, new Request('http://x/ignore-body', { method: 'POST', body: new Uint8Array(HTTP_LIMITS.maxDrainBytes + 100_000) }))
      expect(await res.json()).toEqual({ ignored: true })
      const ok = await client.services.http.fetch(conn, new Request(`http://x/after/${i}`))
      expect((await ok.json()).path).toBe(`/after/${i}`)
    }
  })

  it('sends streamed chunks as they come, never holding one back for the next', async () => {
    const res = await client.services.http.fetch(server.peerId, new Request('http://x/live'))
    const reader = res.body!.getReader()
    const one = await reader.read()
    expect(new TextDecoder().decode(one.value)).toBe('first')
    firstSeen.resolve()
    const two = await reader.read()
    expect(new TextDecoder().decode(two.value)).toBe('second')
    expect((await reader.read()).done).toBe(true)
  }, 5_000)

  it('stops serving on unserve (new streams are refused) and serves again once told to', async () => {
    const other = await node(true, { http: httpOverLibp2p() })
    try {
      await other.services.http.serve(async () => Response.json({ n: 1 }))
      expect(await (await client.services.http.fetch(other.getMultiaddrs()[0], new Request('http://x/'))).json()).toEqual({ n: 1 })
      await other.services.http.unserve()
      expect(other.getProtocols()).not.toContain(HTTP_PROTOCOL)
      // A stream kept alive from before is still served by the old handler until it ends: start afresh.
      await client.hangUp(other.peerId)
      await expect(client.dialProtocol(other.getMultiaddrs()[0], HTTP_PROTOCOL)).rejects.toThrow()
      await other.services.http.serve(async () => Response.json({ n: 2 }))
      expect(await (await client.services.http.fetch(other.getMultiaddrs()[0], new Request('http://x/'))).json()).toEqual({ n: 2 })
    } finally {
      await other.stop()
    }
  })

  it('takes a peer\'s refusal of the protocol for an answer: no retry, and the connection (older than the 3 s stream-open rule) is kept', async () => {
    // A peer of another kind (a relay): libp2p, no HTTP over libp2p.
    const relayLike = await node(true)
    try {
      const conn = await client.dial(relayLike.getMultiaddrs()[0])
      // A connection open for a while, as a relay's is: the stream-open rule suspects old ones.
      conn.timeline.open = Date.now() - 10 * HTTP_LIMITS.streamOpenTimeoutMs
      for (let i = 0; i < 2; i++) {
        const err = await client.services.http.fetch(relayLike.peerId, new Request('http://x/client/v1/contact')).then(() => undefined, (e: unknown) => e)
        expect(err).toBeInstanceOf(ProtocolRefusedError)
        expect((err as ProtocolRefusedError).reason).toBe('PROTOCOL_UNSUPPORTED')
      }
      expect(conn.status).toBe('open')
      expect(client.getConnections(relayLike.peerId)).toEqual([conn])
    } finally {
      await relayLike.stop()
    }
  })
})
