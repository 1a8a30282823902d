import { IncomingMessage } from 'node:http'
import type { EventEmitter } from 'node:events'
import type { Socket } from 'node:net'
import { clientAddress } from './client-address.ts'
import type { TrustedProxy } from './client-address.ts'

/**
 * Server options for the relay's WebSocket listeners (@libp2p/websockets passes them to Node's
 * HTTP server) under which a connection from a trusted proxy reports the client the proxy names
 * as its remote address. The transport builds a connection's multiaddr from the upgrade
 * request's socket and offers no hook of its own; behind a proxy every peer would otherwise be
 * 127.0.0.1, for the directory's per-address bound and libp2p's own per-host limits alike.
 *
 * Node's `IncomingMessage` option is the way in: each request's message is built on a socket
 * that knows its HTTP server, where an `upgrade` listener is put before the transport's own, so
 * it sees the complete head first. A WebSocket owns its TCP connection from then on, so the
 * address set on it belongs to that client alone.
 */
export function forwardedUpgrades (proxy: TrustedProxy): { IncomingMessage: typeof IncomingMessage } {
  const hooked = new WeakSet<object>()
  const onUpgrade = (req: IncomingMessage, socket: Socket): void => {
    const peer = socket.remoteAddress ?? ''
    const client = clientAddress(peer, req.headers, proxy)
    if (client !== peer) Object.defineProperty(socket, 'remoteAddress', { value: client, configurable: true })
  }
  class ForwardedIncomingMessage extends IncomingMessage {
    constructor (socket: Socket) {
      super(socket)
      const server = (socket as Socket & { server?: EventEmitter }).server
      if (server != null && !hooked.has(server)) {
        hooked.add(server)
        server.prependListener('upgrade', onUpgrade)
      }
    }
  }
  return { IncomingMessage: ForwardedIncomingMessage }
}
