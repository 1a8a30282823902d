import { BridgeBodyError, carrierFor, receiveBody, sendBody, wireBodyOf } from './body-carrier.ts'
import { findNode, forgetNode } from './node-client.ts'
import { BRIDGE_LIMITS, CARRIER_HEADER, NULL_BODY_STATUS, checkRequestHead, errorResponse } from './protocol.ts'
import { isReason } from '../shared/reasons.ts'
import { bodyOf } from '../shared/request-body.ts'
import type { Carrier, ReceivedBody, SentBody } from './body-carrier.ts'
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
 * Until both bodies of a forwarded request are done, checks now and then that the node page and
 * the caller still exist: a MessagePort tells nobody when the page at its other end goes away.
 */
function watchBodies (nodeId: string, callerId: string, sent: SentBody | undefined, received: ReceivedBody | undefined): void {
  if (sent == null && received == null) return
  let over = false
  void Promise.all([sent?.done, received?.done]).then(() => { over = true; clearInterval(alive) })
  const stop = (err: BridgeBodyError): void => {
    if (over) return
    over = true
    clearInterval(alive)
    sent?.abort(err)
    received?.fail(err)
  }
  const alive = setInterval(() => {
    void self.clients.get(nodeId).then(c => { if (c == null) stop(new BridgeBodyError('NODE_NOT_READY', 'the node page went away')) })
    if (callerId !== '') void self.clients.get(callerId).then(c => { if (c == null) stop(new BridgeBodyError('BODY_ABANDONED', 'the caller went away')) })
  }, BRIDGE_LIMITS.nodeAliveCheckMs)
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
    return errorResponse('CROSS_SITE_REFUSED', refused)
  }
  const headers = withFacts([...request.headers], facts)
  const bad = checkRequestHead(request.url, request.method, headers)
  if (bad != null) return errorResponse(bad.reason, bad.details)

  const page = await findNode()
  if (page == null) return errorResponse('NODE_NOT_READY', NOT_READY)
  const node = page.client
  // The page's carrier, or chunks over a port where this worker cannot transfer streams.
  const carrier: Carrier = page.carrier === 'port' ? 'port' : carrierFor(null)

  // Chromium gives request bodies as streams; Firefox and WebKit have no streamed Request.body and buffer them.
  const source = request.method !== 'GET' && request.method !== 'HEAD' ? bodyOf(request) : null
  const sent = source != null ? sendBody(source, carrier) : undefined
  const id = crypto.randomUUID()
  const message: ForwardedRequest = { type: 'lightcafe:request', id, method: request.method, url: request.url, headers, body: sent?.wire ?? null }
  const { port1, port2 } = new MessageChannel()
  const answer = answerOn(port1, node, id, request.signal, callerId)
  try {
    node.postMessage(message, [port2, ...(sent?.transfer ?? [])])
  } catch (err) {
    port1.close()
    sent?.abort(err)
    return errorResponse('BRIDGE_ERROR', `the request could not be passed to the node page: ${(err as Error).message}`, 'ownFault')
  }
  const reply = await answer.catch((err: unknown) => { sent?.abort(err); throw err })

  if (reply == null) {
    forgetNode(node.id)
    sent?.abort(new BridgeBodyError('NODE_NOT_READY', 'the node page went away'))
    return errorResponse('NODE_NOT_READY', 'the node page went away or did not answer in time')
  }
  if (reply.type !== 'lightcafe:response') {
    sent?.abort(new BridgeBodyError('BRIDGE_ERROR', 'the node page gave no response'))
    if (reply.type !== 'lightcafe:error') return errorResponse('BRIDGE_ERROR', 'unexpected answer from the node page')
    // The page answers bad requests and handler failures as responses; an error here means it
    // stopped serving (NODE_NOT_READY) or could not pass the response back.
    if (reply.reason === 'NODE_NOT_READY') forgetNode(node.id)
    return errorResponse(isReason(reply.reason) ? reply.reason : 'BRIDGE_ERROR', reply.details)
  }
  let received: ReceivedBody | undefined
  try {
    const wire = wireBodyOf(reply.body)
    received = wire != null ? receiveBody(wire) : undefined
    const out = new Headers(reply.headers)
    out.set(CARRIER_HEADER, wire?.carrier ?? carrier)
    const nullBody = NULL_BODY_STATUS.has(reply.status) || request.method === 'HEAD'
    if (nullBody) void received?.stream.cancel()
    const response = new Response(nullBody ? null : received?.stream ?? null, { status: reply.status, statusText: reply.statusText, headers: out })
    watchBodies(node.id, callerId, sent, nullBody ? undefined : received)
    return response
  } catch (err) {
    void received?.stream.cancel()
    sent?.abort(err)
    return errorResponse('BAD_RESPONSE', `the node page answered with an invalid response: ${(err as Error).message}`)
  }
}
