/**
 * Request bodies as streams in every browser. Chromium (and Node) give `Request.body` and take a
 * ReadableStream as a Request's body (`duplex: 'half'`). Firefox (as of 153 ESR) does neither:
 * `Request.prototype.body` does not exist, and a ReadableStream passed as a body is turned into
 * the text "[object ReadableStream]". There, a stream body rides beside its Request (a WeakMap
 * keyed by the Request) and `bodyOf` finds it; bodies the browser buffered itself (a string,
 * bytes, a Blob) are read once from the Request, which holds them in memory already.
 */

export interface RequestBodies {
  /** True where Requests carry stream bodies natively. */
  readonly native: boolean
  /** A Request whose body is `body`, read by `bodyOf` (not by `request.arrayBuffer()` where not native). */
  streamingRequest: (url: string | URL, init: RequestInit, body: ReadableStream<Uint8Array>) => Request
  /** The request's body as a stream; null for GET and HEAD (and where the browser says none). */
  bodyOf: (request: Request) => ReadableStream<Uint8Array> | null
}

/** Feature test: `Request.body` exists and a stream body is kept as a stream (the browser reads `duplex` and sets no text/plain type). */
export function detectStreamingRequestBodies (RequestClass: typeof Request | null = globalThis.Request ?? null): boolean {
  if (RequestClass == null || typeof ReadableStream === 'undefined') return false
  if (!('body' in RequestClass.prototype)) return false
  try {
    let duplexRead = false
    const probe = new RequestClass('http://streams.invalid/', {
      method: 'POST',
      body: new ReadableStream(),
      get duplex () { duplexRead = true; return 'half' }
    } as RequestInit)
    return duplexRead && !probe.headers.has('content-type')
  } catch {
    return false
  }
}

const hasNoBody = (method: string): boolean => method === 'GET' || method === 'HEAD'

/** The body helpers for a browser that does (`native`) or does not stream request bodies. */
export function requestBodies (native: boolean): RequestBodies {
  if (native) {
    return {
      native,
      streamingRequest: (url, init, body) => new Request(url, { ...init, body, duplex: 'half' } as RequestInit),
      bodyOf: request => request.body
    }
  }
  const beside = new WeakMap<Request, ReadableStream<Uint8Array>>()
  return {
    native,
    streamingRequest: (url, init, body) => {
      const { body: _ignored, ...rest } = init
      const request = new Request(url, rest)
      beside.set(request, body)
      return request
    },
    bodyOf: request => {
      const stream = beside.get(request)
      if (stream != null) return stream // the same stream each time, as `Request.body` is
      if (hasNoBody(request.method)) return null
      // A body the browser holds buffered: one chunk, read when the consumer first pulls.
      return new ReadableStream<Uint8Array>({
        async pull (controller) {
          try {
            const bytes = new Uint8Array(await request.arrayBuffer())
            if (bytes.byteLength > 0) controller.enqueue(bytes)
            controller.close()
          } catch (err) {
            controller.error(err)
          }
        }
      })
    }
  }
}

const bodies = requestBodies(detectStreamingRequestBodies())

export const streamingRequest = bodies.streamingRequest
export const bodyOf = bodies.bodyOf
