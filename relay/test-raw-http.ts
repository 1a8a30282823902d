import fc from 'fast-check'
import { connect, createServer } from 'node:net'

/**
 * Test helpers: raw bytes to an HTTP server over TCP, as a stranger sends them (no client
 * library tidying them up), fast-check arbitraries of malformed request heads, free ports.
 */

/** A TCP port free on loopback now (for a process the test starts on fixed ports). */
export async function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => { const { port } = s.address() as { port: number }; s.close(() => resolve(port)) })
  })
}

export interface RawAnswer {
  /** The status of the first answer, if one came. */
  status?: number
  /** Everything the server sent. */
  text: string
  /** The server closed the connection (rather than the wait running out). */
  closed: boolean
}

/** Sends `bytes` (pieces written `gapMs` apart), then reads until the server closes or `waitMs` passes. */
export async function rawExchange (port: number, bytes: string | Array<string | Uint8Array>, opts: { waitMs?: number, gapMs?: number, host?: string } = {}): Promise<RawAnswer> {
  const pieces = typeof bytes === 'string' ? [bytes] : bytes
  return new Promise(resolve => {
    const socket = connect(port, opts.host ?? '127.0.0.1')
    let text = ''
    let done = false
    const finish = (closed: boolean): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.destroy()
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text)
      resolve({ ...(m != null ? { status: Number(m[1]) } : {}), text, closed })
    }
    const timer = setTimeout(() => { finish(false) }, opts.waitMs ?? 3_000)
    socket.on('data', d => { text += d.toString('latin1') })
    socket.on('close', () => { finish(true) })
    socket.on('error', () => { finish(true) })
    void (async () => {
      for (const p of pieces) {
        if (done || socket.destroyed) return
        socket.write(p)
        if (opts.gapMs != null) await new Promise(resolve => setTimeout(resolve, opts.gapMs))
      }
    })()
  })
}

const token = fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE', 'PRI', 'get', 'G\u00e9T', '')
/** Request targets that break parsers and decoders: stray `%`, hosts made of brackets, NUL, controls, huge paths. */
const target = fc.oneof(
  fc.constantFrom('/%', '//[', '/%zz', '/a%00b', '/%E0%A4%A', '*', 'http://[', 'http://x/%', '//', '/\u001b[31m', '/%0d%0aSet-Cookie:%20x=1', '/..%2f..%2fetc%2fpasswd', '/' + 'a'.repeat(9000), '?', '#', 'relays.json'),
  fc.string({ maxLength: 40 }).map(s => '/' + s),
  fc.stringMatching(/^\/[%[\]\\/:@?#a-z0-9\u0080-\u00ff]{0,24}$/)
)
const version = fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1x', 'HTTP/9', '')
/** Header lines, including ambiguous framing: CL with TE, two CLs that differ, a negative or enormous CL, obs-fold, bare CR. */
const headerLines = fc.array(fc.oneof(
  fc.constantFrom('Host: x', 'Content-Length: 5\r\nTransfer-Encoding: chunked', 'Content-Length: 3\r\nContent-Length: 7', 'Content-Length: -1',
    'Content-Length: 99999999999999999999', 'Transfer-Encoding: chunked, identity', 'Transfer-Encoding: gzip', ' folded: value', 'X: a\rb',
    'Host: a b', 'Host: [', 'Origin: null', 'Content-Type: text/plain;application/json', 'Expect: 100-continue', 'Connection: upgrade\r\nUpgrade: websocket', ':', 'No-Colon'),
  fc.tuple(fc.string({ maxLength: 12 }), fc.string({ maxLength: 24 })).map(([k, v]) => `${k}: ${v}`)
), { maxLength: 6 })
const body = fc.oneof(fc.constant(''), fc.constantFrom('0\r\n\r\n', '5\r\nhello\r\n0\r\n\r\n', 'zz\r\n', '{"a":1}', 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'), fc.string({ maxLength: 64 }))

/** One malformed (or merely odd) HTTP/1 request, as raw text. */
export const oddRequest: fc.Arbitrary<string> = fc.tuple(token, target, version, headerLines, body, fc.boolean())
  .map(([m, t, v, h, b, endHead]) => `${m} ${t} ${v}\r\n${h.join('\r\n')}${h.length > 0 ? '\r\n' : ''}${endHead ? '\r\n' : ''}${b}`)
