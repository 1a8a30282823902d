import { BRIDGE_LIMITS, isMessage } from './protocol.ts'
import type { NodeHello, NodeProbe } from './protocol.ts'

declare let self: ServiceWorkerGlobalScope

// Which window is the node. Only a cache: the SW may be stopped at any time, and then the
// next request asks the windows again.
let nodeClientId: string | undefined
// Requests waiting for a node page; a page that starts serving wakes them (see `nodeIsServing`).
const waiting = new Set<(client: Client) => void>()

/** A page said it serves (or its answer came late): remember it and wake waiting requests. */
export function nodeIsServing (client: Client): void {
  nodeClientId = client.id
  for (const wake of [...waiting]) wake(client)
}

/** A page said it stopped serving, or did not answer a request: ask the windows again next time. */
export function forgetNode (clientId?: string): void {
  if (clientId == null || clientId === nodeClientId) nodeClientId = undefined
}

/**
 * The window that serves API requests, or `undefined` if none says so within `timeoutMs`.
 * Every window of the origin is asked (several tabs may be open; only one runs the node), and
 * asked again every `probeIntervalMs`, since a page still starting its node does not answer yet.
 */
export async function findNode (timeoutMs: number = BRIDGE_LIMITS.findNodeMs): Promise<Client | undefined> {
  if (nodeClientId != null) {
    const cached = await self.clients.get(nodeClientId)
    if (cached != null) return cached
    nodeClientId = undefined
  }
  return new Promise(resolve => {
    const ports: MessagePort[] = []
    const done = (client: Client | undefined): void => {
      if (!waiting.delete(done as (c: Client) => void)) return
      clearTimeout(deadline)
      clearInterval(again)
      for (const port of ports) port.close()
      if (client != null) nodeClientId = client.id
      resolve(client)
    }
    const probeAll = async (): Promise<void> => {
      // Uncontrolled windows count: on the first visit the node starts before the SW controls its page.
      const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true })
      for (const win of windows) {
        const { port1, port2 } = new MessageChannel()
        ports.push(port1)
        port1.onmessage = ev => { if (isMessage<NodeHello>(ev.data, 'lightcafe:node')) done(win) }
        const probe: NodeProbe = { type: 'lightcafe:probe' }
        win.postMessage(probe, [port2])
      }
    }
    waiting.add(done as (c: Client) => void)
    const deadline = setTimeout(() => { done(undefined) }, timeoutMs)
    const again = setInterval(() => { void probeAll() }, BRIDGE_LIMITS.probeIntervalMs)
    void probeAll()
  })
}
