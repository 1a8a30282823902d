import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import type { Identify } from '@libp2p/identify'
import type { Libp2p, ServiceMap } from '@libp2p/interface'
import type { ServiceFactoryMap } from 'libp2p'

/** A libp2p node over TCP on 127.0.0.1 with the given services, for unit tests in Node (which has no WebSocket or WebRTC here). */
export async function tcpTestNode<S extends ServiceMap = ServiceMap> (listen: boolean, services: ServiceFactoryMap<S> = {} as ServiceFactoryMap<S>): Promise<Libp2p<S & { identify: Identify }>> {
  return createLibp2p<S & { identify: Identify }>({
    addresses: { listen: listen ? ['/ip4/127.0.0.1/tcp/0'] : [] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: async () => false },
    services: { ...services, identify: identify() } as ServiceFactoryMap<S & { identify: Identify }>
  })
}
