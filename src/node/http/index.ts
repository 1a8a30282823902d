import { HttpClient } from './client.ts'
import { HTTP_LIMITS, HTTP_PROTOCOL } from './protocol.ts'
import { serveStream, served } from './server.ts'
import type { DialTarget, FetchOptions } from './client.ts'
import type { Libp2pHttpHandler, ServeOptions, ServerLimits } from './server.ts'
import type { AbortOptions, Connection, Libp2p, PeerId } from '@libp2p/interface'

export { HTTP_LIMITS, HTTP_PROTOCOL, HttpOverLibp2pError } from './protocol.ts'
export { DeadConnectionError } from './client.ts'
export type { DialTarget, FetchOptions } from './client.ts'
export type { Libp2pHttpHandler, ServeInfo, ServeOptions, ServerLimits } from './server.ts'

/** Serves `handler` to remote peers. Returns a function that stops serving. */
export async function serveHttp (libp2p: Libp2p, handler: Libp2pHttpHandler, options: ServeOptions & { limits?: Partial<ServerLimits> } = {}): Promise<() => Promise<void>> {
  const s = served(handler, { ...HTTP_LIMITS, ...options.limits }, options)
  await libp2p.handle(HTTP_PROTOCOL, async (stream, connection) => { await serveStream(stream, connection, s) }, { maxInboundStreams: HTTP_LIMITS.maxInboundStreams, runOnLimitedConnection: false })
  return async () => { await libp2p.unhandle(HTTP_PROTOCOL) }
}

const clients = new WeakMap<Libp2p, HttpClient>()
function clientOf (libp2p: Libp2p): HttpClient {
  let c = clients.get(libp2p)
  if (c == null) { c = new HttpClient({ getConnections: p => libp2p.getConnections(p), openConnection: async (t, o) => libp2p.dial(t, o) }); clients.set(libp2p, c) }
  return c
}

export const newestDirect = (libp2p: Libp2p, peer: PeerId): Connection | undefined => clientOf(libp2p).newestDirect(peer)
export const directConnection = async (libp2p: Libp2p, target: DialTarget, signal?: AbortSignal): Promise<Connection> => clientOf(libp2p).directConnection(target, { signal } satisfies AbortOptions)
export const fetchOverLibp2p = async (libp2p: Libp2p, target: DialTarget | Connection, request: Request, options: FetchOptions = {}): Promise<Response> => clientOf(libp2p).fetch(target, request, options)
