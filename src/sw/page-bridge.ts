import { BRIDGE_LIMITS, errorResponse } from './protocol.ts'
import type { ForwardedRequest, ForwardedResponse, WorkerToPage } from './protocol.ts'

export class ServiceWorkerUnavailableError extends Error {
  static override name = 'ServiceWorkerUnavailableError'
  override name = 'ServiceWorkerUnavailableError'
}

function toRequest (msg: ForwardedRequest): Request {
  if (msg.url.length > BRIDGE_LIMITS.maxUrlLength) throw new TypeError('URL too long')
  return new Request(msg.url, {
    method: msg.method,
    headers: msg.headers,
    ...(msg.body != null ? { body: msg.body, duplex: 'half' } : {})
  } as RequestInit)
}

async function answer (port: MessagePort, handler: (request: Request) => Promise<Response>, msg: ForwardedRequest): Promise<void> {
  let response: Response
  try {
    let request: Request
    try { request = toRequest(msg) } catch (err) {
      response = errorResponse(400, 'BAD_REQUEST', `the request could not be read: ${(err as Error).message}`)
      throw response
    }
    response = await handler(request)
  } catch (err) {
    response = err instanceof Response ? err : errorResponse(500, 'INTERNAL', 'the node failed to answer')
    if (!(err instanceof Response)) console.error('request failed in the node page', err)
  }
  const body = response.body
  const reply: ForwardedResponse = { type: 'lightcafe:response', status: response.status, statusText: response.statusText, headers: [...response.headers], body }
  port.postMessage(reply, body != null ? [body] : [])
  port.close()
}

/**
 * Makes this page the node that answers the service worker's forwarded requests.
 * Returns a function that stops serving.
 */
export function serveToServiceWorker (handler: (request: Request) => Promise<Response>): () => void {
  if (!('serviceWorker' in navigator)) throw new ServiceWorkerUnavailableError('this browser has no service workers')
  const onMessage = (ev: MessageEvent<WorkerToPage>): void => {
    const port = ev.ports[0]
    if (port == null) return
    if (ev.data?.type === 'lightcafe:probe') {
      port.postMessage({ type: 'lightcafe:node' })
      port.close()
    } else if (ev.data?.type === 'lightcafe:request') {
      void answer(port, handler, ev.data)
    }
  }
  navigator.serviceWorker.addEventListener('message', onMessage)
  // Messages from the SW are queued until the page starts them.
  navigator.serviceWorker.startMessages()
  return () => { navigator.serviceWorker.removeEventListener('message', onMessage) }
}

/** Resolves once a service worker controls this page, or rejects after `timeoutMs`. */
export async function waitForController (timeoutMs: number): Promise<ServiceWorker> {
  const sw = navigator.serviceWorker
  if (sw.controller != null) return sw.controller
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { reject(new ServiceWorkerUnavailableError('no service worker took control of the page in time')) }, timeoutMs)
    sw.addEventListener('controllerchange', () => {
      clearTimeout(timer)
      if (sw.controller != null) resolve(sw.controller)
    }, { once: true })
  })
}

/** Registers /sw.js for the whole origin and waits until it controls this page. */
export async function registerServiceWorker (timeoutMs = 15_000): Promise<ServiceWorkerRegistration> {
  if (!('serviceWorker' in navigator)) throw new ServiceWorkerUnavailableError('this browser has no service workers')
  const registration = await navigator.serviceWorker.register('/sw.js', { scope: '/' })
  await waitForController(timeoutMs)
  return registration
}
