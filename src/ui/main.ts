import { createNode } from '../node/create-node.ts'
import { relayAddrs } from '../node/relays.ts'

const node = await createNode({ relays: await relayAddrs(location) })
;(globalThis as any).lightcafe = { node, ma: (await import("@multiformats/multiaddr")).multiaddr }
document.querySelector('#app')!.textContent = `peer ${node.libp2p.peerId.toString()}`
