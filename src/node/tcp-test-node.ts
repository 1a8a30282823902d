import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import type { Libp2p } from '@libp2p/interface'

/** A libp2p node over TCP on 127.0.0.1, for unit tests in Node (which has no WebSocket or WebRTC here). */
export async function tcpTestNode (listen: boolean): Promise<Libp2p> {
  return createLibp2p({
    addresses: { listen: listen ? ['/ip4/127.0.0.1/tcp/0'] : [] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: async () => false },
    services: { identify: identify() }
  })
}
