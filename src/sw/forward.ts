import { findNode, forgetNode } from './node-client.ts'
import { BRIDGE_LIMITS, NULL_BODY_STATUS, checkRequestHead, errorResponse } from './protocol.ts'
import { bodyOf } from '../shared/request-body.ts'
import type { ForwardedAbort, ForwardedRequest, PortToWorker } from './protocol.ts'
import { factsOfEvent, refusalOf, withFacts } from './same-origin-guard.ts'

declare let self: ServiceWorkerGlobalScope

const NOT_READY = 'No Lightcafe node is running in this browser: open the app in a tab and wait for it to start.'

/** Waits for the one answer on `port`: `undefined` if the node page vanished or did not answer in time. */
async function answerOn (port: MessagePort, node: Client, id: string, signal: AbortSignal, callerId: string): Promise<PortToWorker | undefined> {
  return new Promise((resolve, reject) => {
    let settled = false
    const finish = (answer: PortToWorker | undefined, err?: unknown): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      clearInterval(alive)
      signal.removeEventListener('abort', onSignal)
      port.close()
      if (err != null) reject(err)
      else resolve(answer)
    }
    const timer = setTimeout(() => { finish(undefined) }, BRIDGE_LIMITS.responseHeadMs)
    const onAbort = (reason: unknown): void => {
      if (settled) return
      const abort: ForwardedAbort = { type: 'lightcafe:abort', id }
      port.postMessage(abort)
      finish(undefined, reason)
    }
    // A MessagePort tells nobody when the page at its other end goes away, so look; and the
    // same for the caller (Chromium does not abort the FetchEvent's request.signal, as of 156).
    const alive = setInterval(() => {
      void self.clients.get(node.id).then(c => { if (c == null) finish(undefined) })
      if (callerId !== '') void self.clients.get(callerId).then(c => { if (c == null) onAbort(new DOMException('the caller went away', 'AbortError')) })
    }, BRIDGE_LIMITS.nodeAliveCheckMs)
    const onSignal = (): void => { onAbort(signal.reason) }
    signal.addEventListener('abort', onSignal)
    port.onmessage = (ev: MessageEvent<PortToWorker>) => { finish(ev.data) }
  })
}

/**
 * Sends a same-origin API request to the node page and streams its response back.
 * Another site's request (a form it posts, a link, an `<img>`): 403 CROSS_SITE_REFUSED.
 * No node page: 503 NODE_NOT_READY. Oversized or malformed request heads: 400.
 */
export async function forwardToNode (request: Request, callerId = ''): Promise<Response> {
  const facts = await factsOfEvent(request, callerId)
  const refused = refusalOf(facts)
  if (refused != null) {
    void request.body?.cancel().catch(() => {})
    return errorResponse(403, 'CROSS_SITE_REFUSED', refused)
  }
  const headers = withFacts([...request.headers], facts)
  const bad = checkRequestHead(request.url, request.method, headers)
  if (bad != null) return errorResponse(400, bad.reason, bad.details)

  const node = await findNode()
  if (node == null) return errorResponse(503, 'NODE_NOT_READY', NOT_READY)

  let body: ReadableStream<Uint8Array> | null = null
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    // Chromium gives request bodies as streams; Firefox has no Request.body and buffers them.
    body = bodyOf(request)
  }
  const id = crypto.randomUUID()
  const message: ForwardedRequest = { type: 'lightcafe:request', id, method: request.method, url: request.url, headers, body }
  const { port1, port2 } = new MessageChannel()
  const answer = answerOn(port1, node, id, request.signal, callerId)
  try {
    node.postMessage(message, body != null ? [port2, body] : [port2])
  } catch (err) {
    port1.close()
    return errorResponse(500, 'BRIDGE_ERROR', `the request could not be passed to the node page: ${(err as Error).message}`)
  }
  const reply = await answer

  if (reply == null) {
    forgetNode(node.id)
    return errorResponse(503, 'NODE_NOT_READY', 'the node page went away or did not answer in time')
  }
  if (reply.type === 'lightcafe:error') {
    // The page answers bad requests and handler failures as responses; an error here means it
    // stopped serving (NODE_NOT_READY) or could not pass the response back.
    if (reply.reason === 'NODE_NOT_READY') forgetNode(node.id)
    return errorResponse(reply.reason === 'NODE_NOT_READY' ? 503 : 502, reply.reason, reply.details)
  }
  if (reply.type !== 'lightcafe:response') return errorResponse(502, 'BRIDGE_ERROR', 'unexpected answer from the node page')
  try {
    const nullBody = NULL_BODY_STATUS.has(reply.status) || request.method === 'HEAD'
    if (nullBody) void reply.body?.cancel()
    return new Response(nullBody ? null : reply.body, { status: reply.status, statusText: reply.statusText, headers: reply.headers })
  } catch (err) {
    void reply.body?.cancel()
    return errorResponse(502, 'BAD_RESPONSE', `the node page answered with an invalid response: ${(err as Error).message}`)
  }
}
