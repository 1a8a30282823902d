/** Messages between the service worker and the node page (the window that runs the node). */

/** SW → page: "do you serve API requests?" Answered on the transferred port with `NodeHello`. */
export interface NodeProbe { type: 'lightcafe:probe' }
export interface NodeHello { type: 'lightcafe:node' }

/** SW → page: one HTTP request, its body stream transferred; the answer comes on the port. */
export interface ForwardedRequest {
  type: 'lightcafe:request'
  method: string
  url: string
  headers: Array<[string, string]>
  body: ReadableStream<Uint8Array> | null
}

/** page → SW, on the request's port: the response head, its body stream transferred. */
export interface ForwardedResponse {
  type: 'lightcafe:response'
  status: number
  statusText: string
  headers: Array<[string, string]>
  body: ReadableStream<Uint8Array> | null
}

/** page → SW: the request could not be handled at all (the node answers errors as responses). */
export interface ForwardedError { type: 'lightcafe:error', reason: string, details: string }

export type PageToWorker = NodeHello | ForwardedResponse | ForwardedError
export type WorkerToPage = NodeProbe | ForwardedRequest

/** Paths the service worker forwards to the node page. */
export const FORWARDED_PATHS = /^\/(api\/v0|cafe\/v1|ipfs)(\/|$)/

export const BRIDGE_LIMITS = {
  /** How long the SW waits for a window to say it is the node: a live page answers in < 10 ms. */
  probeMs: 1_500,
  /** How long the SW waits for a response head; bodies then stream without a deadline. */
  responseHeadMs: 120_000,
  /** A forwarded URL longer than this is refused before it reaches the node. */
  maxUrlLength: 8 * 1024
} as const

export function errorResponse (status: number, reason: string, details: string): Response {
  return new Response(JSON.stringify({ error: { reason, details } }), { status, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' } })
}
