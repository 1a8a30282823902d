import { BRIDGE_LIMITS, errorResponse } from './protocol.ts'
import type { ForwardedRequest, PageToWorker } from './protocol.ts'

declare let self: ServiceWorkerGlobalScope

// Which window is the node. Only a cache: the SW may be stopped any time, and then we ask again.
let nodeClientId: string | undefined

async function ask (client: Client, message: unknown, transfer: Transferable[], port: MessagePort, timeoutMs: number): Promise<PageToWorker | undefined> {
  return new Promise(resolve => {
    const timer = setTimeout(() => { port.close(); resolve(undefined) }, timeoutMs)
    port.onmessage = (ev: MessageEvent<PageToWorker>) => { clearTimeout(timer); resolve(ev.data) }
    client.postMessage(message, transfer)
  })
}

async function isNode (client: Client): Promise<boolean> {
  const { port1, port2 } = new MessageChannel()
  const answer = await ask(client, { type: 'lightcafe:probe' }, [port2], port1, BRIDGE_LIMITS.probeMs)
  port1.close()
  return answer?.type === 'lightcafe:node'
}

async function findNode (): Promise<Client | undefined> {
  if (nodeClientId != null) {
    const cached = await self.clients.get(nodeClientId)
    if (cached != null) return cached
    nodeClientId = undefined
  }
  // Uncontrolled windows count: the first page load runs the node before the SW controls it.
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true })
  const answers = await Promise.all(windows.map(async w => (await isNode(w)) ? w : undefined))
  const node = answers.find(w => w != null)
  nodeClientId = node?.id
  return node
}

/** Sends the request to the node page and streams its response back; 503 NODE_NOT_READY without one. */
export async function forwardToNode (request: Request): Promise<Response> {
  if (request.url.length > BRIDGE_LIMITS.maxUrlLength) return errorResponse(414, 'URL_TOO_LONG', `URLs are limited to ${BRIDGE_LIMITS.maxUrlLength} characters`)
  const node = await findNode()
  if (node == null) return errorResponse(503, 'NODE_NOT_READY', 'No Lightcafe node page is running in this browser; open the app and wait for it to start.')
  let body: ReadableStream<Uint8Array> | null = null
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    // Chromium exposes request bodies as streams; fall back to a buffer where it does not.
    body = request.body ?? new Blob([await request.arrayBuffer()]).stream()
  }
  const message: ForwardedRequest = { type: 'lightcafe:request', method: request.method, url: request.url, headers: [...request.headers], body }
  const { port1, port2 } = new MessageChannel()
  const answer = await ask(node, message, body != null ? [port2, body] : [port2], port1, BRIDGE_LIMITS.responseHeadMs)
  port1.close()
  if (answer == null) {
    nodeClientId = undefined
    return errorResponse(504, 'NODE_TIMEOUT', 'the node page did not answer in time')
  }
  if (answer.type === 'lightcafe:error') return errorResponse(502, answer.reason, answer.details)
  if (answer.type !== 'lightcafe:response') return errorResponse(502, 'BRIDGE_ERROR', 'unexpected answer from the node page')
  return new Response(answer.body, { status: answer.status, statusText: answer.statusText, headers: answer.headers })
}
