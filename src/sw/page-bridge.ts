import { BridgeBodyError, carrierFor, receiveBody, sendBody, wireBodyOf } from './body-carrier.ts'
import { BRIDGE_LIMITS, checkRequestHead, errorResponse, isMessage } from './protocol.ts'
import { UnavailableError } from '../shared/errors.ts'
import { streamingRequest } from '../shared/request-body.ts'
import type { Carrier, ReceivedBody, SentBody } from './body-carrier.ts'
import type { ForwardedAbort, ForwardedError, ForwardedRequest, ForwardedResponse, NodeHello, NodeProbe, PageControl } from './protocol.ts'

/** The page half of the service worker: runs in the window, never in the worker. */

/** Service workers are missing (old browser, insecure origin, private mode) or did not take control. */
export class ServiceWorkerUnavailableError extends UnavailableError {
  static override name = 'ServiceWorkerUnavailableError'
  override name = 'ServiceWorkerUnavailableError'
  constructor (details: string) { super('SERVICE_WORKER_UNAVAILABLE', details) }
}

type Handler = (request: Request) => Promise<Response>

// One listener per page, installed on first use; `serving` is the handler of the moment. A page
// that stopped serving still answers forwarded requests (NODE_NOT_READY), so the SW never waits
// on a page that will not answer.
let serving: Handler | undefined
let listening = false

/** The page's service worker container; ServiceWorkerUnavailableError where there is none. */
export function container (): ServiceWorkerContainer {
  if (!('serviceWorker' in navigator)) {
    throw new ServiceWorkerUnavailableError('this browser offers no service workers here (they need https or localhost, and no private mode in some browsers)')
  }
  return navigator.serviceWorker
}

/** The fallback, asked for by name: `localStorage['lightcafe.bridge'] = 'port'` (tests run it in every engine). */
export const BRIDGE_SWITCH = 'lightcafe.bridge'

let chosen: Carrier | undefined

/**
 * How this page carries bodies to and from the service worker, chosen once: chunks over a port
 * where streams cannot be transferred (WebKit) or where `BRIDGE_SWITCH` asks for it, else
 * transferred streams.
 */
export function bridgeCarrier (): Carrier {
  if (chosen == null) {
    let forced: string | null = null
    try { forced = localStorage.getItem(BRIDGE_SWITCH) } catch { /* storage blocked: the default */ }
    chosen = carrierFor(forced)
  }
  return chosen
}

function toRequest (msg: ForwardedRequest, signal: AbortSignal, body: ReceivedBody | undefined): Request | Response {
  const bad = checkRequestHead(msg.url, msg.method, msg.headers)
  if (bad != null) return errorResponse(bad.reason, bad.details)
  try {
    const init: RequestInit = { method: msg.method, headers: msg.headers, signal }
    return body != null ? streamingRequest(msg.url, init, body.stream) : new Request(msg.url, init)
  } catch (err) {
    return errorResponse('BAD_REQUEST', `the request cannot be read: ${(err as Error).message}`)
  }
}

function reply (port: MessagePort, message: ForwardedResponse | ForwardedError | NodeHello, sent?: SentBody): void {
  try {
    port.postMessage(message, sent?.transfer ?? [])
  } catch (err) {
    sent?.abort(err)
    const error: ForwardedError = { type: 'lightcafe:error', reason: 'BRIDGE_ERROR', details: `the response could not be passed back: ${(err as Error).message}` }
    port.postMessage(error)
  } finally {
    port.close()
  }
}

/** Sends `response` back on `port`, its body by this page's carrier; resolves once the body is sent (or failed). */
async function respond (port: MessagePort, response: Response): Promise<void> {
  let sent: SentBody | undefined
  try {
    sent = response.body != null ? sendBody(response.body, bridgeCarrier()) : undefined
  } catch (err) {
    // E.g. a body stream that was already read or locked.
    reply(port, { type: 'lightcafe:error', reason: 'BRIDGE_ERROR', details: `the response could not be passed back: ${(err as Error).message}` })
    return
  }
  reply(port, { type: 'lightcafe:response', status: response.status, statusText: response.statusText, headers: [...response.headers], body: sent?.wire ?? null }, sent)
  await sent?.done
}

async function answer (port: MessagePort, msg: ForwardedRequest): Promise<void> {
  let body: ReceivedBody | undefined
  try {
    const wire = wireBodyOf(msg.body)
    body = wire != null ? receiveBody(wire, { idleMs: BRIDGE_LIMITS.requestBodyIdleMs }) : undefined
  } catch (err) {
    reply(port, { type: 'lightcafe:error', reason: 'BRIDGE_ERROR', details: (err as Error).message })
    return
  }
  const handler = serving
  if (handler == null) {
    body?.fail(new BridgeBodyError('NODE_NOT_READY', 'this page no longer serves the node'))
    reply(port, { type: 'lightcafe:error', reason: 'NODE_NOT_READY', details: 'this page no longer serves the node' })
    return
  }
  const abort = new AbortController()
  port.onmessage = (ev: MessageEvent<unknown>) => {
    if (!isMessage<ForwardedAbort>(ev.data, 'lightcafe:abort')) return
    abort.abort(new DOMException('the caller went away', 'AbortError'))
    body?.fail(new BridgeBodyError('BODY_ABANDONED', 'the caller went away'))
  }
  const request = toRequest(msg, abort.signal, body)
  let response: Response
  if (request instanceof Response) {
    response = request
  } else {
    try {
      response = await handler(request)
    } catch (err) {
      if (!abort.signal.aborted) console.error('the node failed to answer', msg.method, msg.url, err)
      response = errorResponse('INTERNAL', 'the node failed to answer this request')
    }
  }
  await respond(port, response)
  // A request body the handler left unread is stopped once its answer is over: the worker
  // would otherwise wait for credit that never comes.
  body?.fail(new BridgeBodyError('BODY_ABANDONED', 'the answer ended before the request body was read'))
}

function onMessage (ev: MessageEvent<unknown>): void {
  const port = ev.ports[0]
  if (port == null) return
  if (isMessage<NodeProbe>(ev.data, 'lightcafe:probe')) {
    // Only the serving page answers; the others stay silent and the SW keeps looking.
    if (serving != null) reply(port, { type: 'lightcafe:node', carrier: bridgeCarrier() })
    else port.close()
  } else if (isMessage<ForwardedRequest>(ev.data, 'lightcafe:request')) {
    void answer(port, ev.data)
  }
}

function tellWorker (message: PageControl): void {
  void container().ready.then(reg => { reg.active?.postMessage(message) }, () => {})
}

/**
 * Makes this page the node: the service worker forwards same-origin `/api/v0`, `/cafe/v1` and
 * `/ipfs` requests here, `handler` answers them, and response bodies stream back (by `bridgeCarrier()`). Only one page
 * per browser profile should serve (the app holds a Web Lock for that). Returns `stop`.
 *
 * @example
 * const stop = serveToServiceWorker(async request => app.fetch(request))
 */
export function serveToServiceWorker (handler: (request: Request) => Promise<Response>): () => void {
  const sw = container()
  serving = handler
  if (!listening) {
    sw.addEventListener('message', onMessage)
    listening = true
  }
  // Messages from the SW are queued until the page starts them.
  sw.startMessages()
  // Wake requests that are already waiting for a node (the first visit, a reload).
  tellWorker({ type: 'lightcafe:serving', carrier: bridgeCarrier() })
  return () => {
    if (serving !== handler) return
    serving = undefined
    tellWorker({ type: 'lightcafe:stopped' })
  }
}
