import { BRIDGE_LIMITS, isMessage } from './protocol.ts'
import type { NodeHello, NodeProbe } from './protocol.ts'
import type { Carrier } from './body-carrier.ts'

declare let self: ServiceWorkerGlobalScope

/** The window that runs the node, and the body carrier it asked for. */
export interface NodePage { client: Client, carrier: Carrier }

// Which window is the node. Only a cache: the SW may be stopped at any time, and then the
// next request asks the windows again.
let node: { id: string, carrier: Carrier } | undefined
// Requests waiting for a node page; a page that starts serving wakes them (see `nodeIsServing`).
const waiting = new Set<(page: NodePage) => void>()

/** What a page said it takes: anything but `port` is the default. */
const carrierOf = (said: unknown): Carrier => said === 'port' ? 'port' : 'stream'

/** A page said it serves (or its answer came late): remember it and wake waiting requests. */
export function nodeIsServing (client: Client, carrier: unknown): void {
  node = { id: client.id, carrier: carrierOf(carrier) }
  for (const wake of [...waiting]) wake({ client, carrier: node.carrier })
}

/** A page said it stopped serving, or did not answer a request: ask the windows again next time. */
export function forgetNode (clientId?: string): void {
  if (clientId == null || clientId === node?.id) node = undefined
}

/**
 * The window that serves API requests, or `undefined` if none says so within `timeoutMs`.
 * Every window of the origin is asked (several tabs may be open; only one runs the node), and
 * asked again every `probeIntervalMs`, since a page still starting its node does not answer yet.
 */
export async function findNode (timeoutMs: number = BRIDGE_LIMITS.findNodeMs): Promise<NodePage | undefined> {
  if (node != null) {
    const { carrier } = node
    const cached = await self.clients.get(node.id)
    if (cached != null) return { client: cached, carrier }
    node = undefined
  }
  return new Promise(resolve => {
    const ports: MessagePort[] = []
    const done = (page: NodePage | undefined): void => {
      if (!waiting.delete(done as (p: NodePage) => void)) return
      clearTimeout(deadline)
      clearInterval(again)
      for (const port of ports) port.close()
      if (page != null) node = { id: page.client.id, carrier: page.carrier }
      resolve(page)
    }
    const probeAll = async (): Promise<void> => {
      // Uncontrolled windows count: on the first visit the node starts before the SW controls its page.
      const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true })
      for (const win of windows) {
        const { port1, port2 } = new MessageChannel()
        ports.push(port1)
        port1.onmessage = ev => { if (isMessage<NodeHello>(ev.data, 'lightcafe:node')) done({ client: win, carrier: carrierOf(ev.data.carrier) }) }
        const probe: NodeProbe = { type: 'lightcafe:probe' }
        win.postMessage(probe, [port2])
      }
    }
    waiting.add(done as (p: NodePage) => void)
    const deadline = setTimeout(() => { done(undefined) }, timeoutMs)
    const again = setInterval(() => { void probeAll() }, BRIDGE_LIMITS.probeIntervalMs)
    void probeAll()
  })
}
