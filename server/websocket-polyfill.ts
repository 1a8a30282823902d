import { WebSocket } from 'ws'

// Node 20 has no global WebSocket, which @libp2p/websockets dials with (Node 22 has one):
// without it the cafe could listen on WebSockets but not dial a relay over them.
if (typeof (globalThis as { WebSocket?: unknown }).WebSocket !== 'function') {
  Object.defineProperty(globalThis, 'WebSocket', { configurable: true, writable: true, value: WebSocket })
}
export {}
