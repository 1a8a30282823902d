import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { pipeline } from 'node:stream'
import { extname, join, normalize, sep } from 'node:path'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Server as HttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { errorBody } from '../src/shared/errors.ts'
import { statusOf } from '../src/shared/reasons.ts'
import { crossSiteRefusal } from '../src/shared/same-origin.ts'
import { createGuardedServer, isLoopback } from './http-guard.ts'
import type { RequestTarget } from './http-guard.ts'
import type { Reason } from '../src/shared/reasons.ts'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8'
}

export interface StaticServerInit {
  root: string
  port: number
  host?: string
  /** Served as /relays.json so pages find the local relay without `?relay=`. */
  relays: () => string[]
  /** The body of /relays.json by the local address the request arrived on and the asker's (LAN mode); overrides `relays`. */
  relaysFor?: (localAddress: string | undefined, remoteAddress: string | undefined) => unknown
  /** Serve HTTPS with this certificate and key (PEM) instead of plain HTTP. */
  tls?: { cert: string, key: string }
  /** Loopback exempt from the per-address connection cap (`npm start`: the host's own browser, its tabs and profiles). */
  exemptLoopback?: boolean
}

export interface StaticServer {
  server: Server | HttpsServer
  url: string
  stop(): Promise<void>
}

function json (status: number, body: unknown): [number, Record<string, string>, string] {
  return [status, { 'content-type': 'application/json', 'cache-control': 'no-store' }, JSON.stringify(body)]
}

/** A refusal in the API's error shape, with its reason's status. */
function refusal (reason: Reason, details: string): [number, Record<string, string>, string] {
  return json(statusOf(reason), errorBody(reason, details))
}

/**
 * Serves the built PWA. API paths reach this server only when no service worker
 * controls the page (first load, or the node page is gone): they get the API's
 * 503 NODE_NOT_READY rather than an HTML page.
 */
export async function startStaticServer (init: StaticServerInit): Promise<StaticServer> {
  const root = normalize(init.root)
  const handle = (req: IncomingMessage, res: ServerResponse, { path }: RequestTarget): void | Promise<void> => {
    const send = ([status, headers, body]: [number, Record<string, string>, string]): void => {
      res.writeHead(status, headers).end(body)
    }
    if (path === '/relays.json') return send(json(200, init.relaysFor?.(req.socket.localAddress, req.socket.remoteAddress) ?? { relays: init.relays() }))
    if (/^\/(api|cafe|ipfs)\//.test(path)) {
      // The node is not here, but another site's request is named as what it is.
      const header = (name: string): string | null => { const v = req.headers[name]; return typeof v === 'string' ? v : null }
      const refused = crossSiteRefusal({ method: req.method ?? 'GET', path, selfOrigin: `${'encrypted' in req.socket ? 'https' : 'http'}://${req.headers.host ?? ''}`, origin: header('origin'), site: header('sec-fetch-site'), mode: header('sec-fetch-mode'), dest: header('sec-fetch-dest') })
      if (refused != null) return send(refusal('CROSS_SITE_REFUSED', refused))
      return send(refusal('NODE_NOT_READY', 'No Lightcafe node page is running in this browser yet; open the app and wait for it to start.'))
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(refusal('METHOD_NOT_ALLOWED', 'static files are read-only'))
    let file = normalize(join(root, path))
    if (file !== root && !file.startsWith(root + sep)) return send(refusal('FORBIDDEN', 'path escapes the app'))
    return (async () => {
      let info = await stat(file).catch(() => null)
      if (info?.isDirectory() === true) {
        file = join(file, 'index.html')
        info = await stat(file).catch(() => null)
      }
      if (info == null) {
        // Unknown paths without an extension are app routes: serve the shell.
        if (extname(path) !== '') return send(refusal('NOT_FOUND', path))
        file = join(root, 'index.html')
        info = await stat(file).catch(() => null)
        if (info == null) return send(refusal('NOT_BUILT', 'run `npm run build` first'))
      }
      const hashed = path.startsWith('/assets/')
      res.writeHead(200, {
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'content-length': String(info.size),
        // Hashed assets never change; everything else must revalidate so updates reach the service worker.
        'cache-control': hashed ? 'public, max-age=31536000, immutable' : 'no-cache'
      })
      if (req.method === 'HEAD') { res.end(); return }
      // A file that vanished or failed mid-read ends this answer, not the process.
      pipeline(createReadStream(file), res, () => {})
    })()
  }
  const server = createGuardedServer(handle, { ...(init.tls != null ? { tls: init.tls } : {}), ...(init.exemptLoopback === true ? { limits: { exempt: isLoopback } } : {}) })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(init.port, init.host ?? '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    server,
    url: `${init.tls != null ? 'https' : 'http'}://${init.host ?? '127.0.0.1'}:${port}`,
    stop: async () => {
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }
}
