import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http'

/**
 * What every HTTP server we run (the static app server, the LAN setup page, the Node cafe's
 * API and owner ports) puts between a stranger's bytes and its handler: a request whose target
 * does not parse or decode is answered 400 `BAD_URL`, and a handler that throws, synchronously
 * or later, is answered 500 `INTERNAL` — never an exception that ends the process.
 */

/** A request's target, parsed: `path` is the decoded pathname (no NUL), `url` keeps the query. */
export interface RequestTarget { url: URL, path: string }

export type GuardedHandler = (req: IncomingMessage, res: ServerResponse, target: RequestTarget) => void | Promise<void>

/** A refusal in the API's error shape; a no-op once an answer has started (the connection is dropped instead). */
export function refuse (res: ServerResponse, status: number, reason: string, details: string): void {
  if (res.headersSent) { res.destroy(); return }
  const body = JSON.stringify({ error: { reason, details } })
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': String(Buffer.byteLength(body)) })
  res.end(body)
}

/**
 * The target of a request in origin form (`/path?query`) or absolute form (`http://host/path`),
 * or undefined when it is neither, does not parse, or its path does not percent-decode. A target
 * starting `//` is refused too: URL parsers read it as another host (`//[` as a broken one).
 */
export function requestTarget (raw: string | undefined): RequestTarget | undefined {
  if (raw == null || raw === '') return undefined
  let url: URL
  try {
    if (raw.startsWith('//')) return undefined
    if (raw.startsWith('/')) url = new URL(`http://origin.invalid${raw}`)
    else if (/^https?:\/\//i.test(raw)) url = new URL(raw)
    else return undefined
  } catch {
    return undefined
  }
  let path: string
  try { path = decodeURIComponent(url.pathname) } catch { return undefined }
  if (path.includes('\0')) return undefined
  return { url, path }
}

/** A request listener that never lets a malformed target or a handler's failure escape. */
export function guardedListener (handler: GuardedHandler): RequestListener {
  const failed = (res: ServerResponse, err: unknown): void => {
    refuse(res, 500, 'INTERNAL', err instanceof Error ? err.message : String(err))
  }
  return (req, res) => {
    const target = requestTarget(req.url)
    if (target == null) return refuse(res, 400, 'BAD_URL', 'the request target is not a path that parses and percent-decodes')
    try {
      const pending = handler(req, res, target)
      if (pending != null) pending.catch(err => { failed(res, err) })
    } catch (err) {
      failed(res, err)
    }
  }
}
