import { describe, expect, it } from 'vitest'
import { detectStreamingRequestBodies, requestBodies } from './request-body.ts'

const text = async (stream: ReadableStream<Uint8Array> | null): Promise<string | null> => stream == null ? null : new Response(stream).text()
const streamOf = (...chunks: string[]): ReadableStream<Uint8Array> => new ReadableStream({
  start (c) { for (const s of chunks) c.enqueue(new TextEncoder().encode(s)); c.close() }
})

describe('feature test for streamed request bodies', () => {
  it('finds them in Node', () => {
    expect(detectStreamingRequestBodies()).toBe(true)
  })

  it('finds none where Request has no body getter (Firefox 153 ESR)', () => {
    class NoBodyRequest { constructor (_url: string, _init: RequestInit) {} }
    expect(detectStreamingRequestBodies(NoBodyRequest as unknown as typeof Request)).toBe(false)
  })

  it('finds none where a stream body becomes text (the browser sets text/plain and never reads duplex)', () => {
    class TextBodyRequest {
      readonly headers = new Headers()
      get body (): null { return null }
      constructor (_url: string, init: RequestInit) { if (init.body != null) this.headers.set('content-type', 'text/plain;charset=UTF-8') }
    }
    expect(detectStreamingRequestBodies(TextBodyRequest as unknown as typeof Request)).toBe(false)
  })

  it('finds none where Request is missing', () => {
    expect(detectStreamingRequestBodies(null)).toBe(false)
  })
})

describe.each([true, false])('request bodies (native streams: %s)', native => {
  const { streamingRequest, bodyOf } = requestBodies(native)

  it('a stream body reaches bodyOf chunk by chunk, with the init kept', async () => {
    const req = streamingRequest('http://x/upload', { method: 'PUT', headers: { 'content-type': 'application/vnd.ipld.car' } }, streamOf('ab', 'cd'))
    expect(req.method).toBe('PUT')
    expect(req.headers.get('content-type')).toBe('application/vnd.ipld.car')
    expect(await text(bodyOf(req))).toBe('abcd')
  })

  it('bodyOf gives the same stream each time, as Request.body does', () => {
    const req = streamingRequest('http://x/', { method: 'POST' }, streamOf('x'))
    expect(bodyOf(req)).toBe(bodyOf(req))
  })

  it('a body the browser buffered (a string, bytes) is read through bodyOf', async () => {
    expect(await text(bodyOf(new Request('http://x/', { method: 'POST', body: '{"a":1}' })))).toBe('{"a":1}')
    expect(await text(bodyOf(new Request('http://x/', { method: 'POST', body: new Uint8Array([104, 105]) })))).toBe('hi')
  })

  it('GET and HEAD have no body; an empty POST body reads as nothing', async () => {
    expect(bodyOf(new Request('http://x/'))).toBeNull()
    expect(bodyOf(new Request('http://x/', { method: 'HEAD' }))).toBeNull()
    expect(await text(bodyOf(new Request('http://x/', { method: 'POST' }))) ?? '').toBe('') // null (native) or an empty stream
  })
})

it('without native streams, a stream body is never handed to Request (Firefox would send "[object ReadableStream]")', async () => {
  const req = requestBodies(false).streamingRequest('http://x/', { method: 'POST', body: 'ignored' }, streamOf('real'))
  expect(await req.text()).toBe('')
})
