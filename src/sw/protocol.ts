import { statusOf } from '../shared/reasons.ts'
import type { Carrier, WireBody } from './body-carrier.ts'
import type { Reason, StatusCase } from '../shared/reasons.ts'

/**
 * Messages between the service worker and the node page (the one window that runs the node).
 *
 * One request = one MessageChannel: the SW posts a `ForwardedRequest` to the node page with
 * `port2` (and the request body's stream or port) in the transfer list, and waits on `port1` for
 * exactly one `ForwardedResponse` or `ForwardedError`. Bodies stream both ways with
 * backpressure and no copy of a whole body is ever held: as transferred `ReadableStream`s where
 * the engine can transfer them, else as chunks over a port of their own (body-carrier.ts). The
 * node page says which carrier it takes (`NodeHello`, `serving`); the SW uses `port` if either
 * side asks for it.
 */

/** SW → window, with a port: "do you serve API requests?" Only a serving page answers `NodeHello`. */
export interface NodeProbe { type: 'lightcafe:probe' }
/** window → SW, on the probe's port: this page serves, and carries bodies by `carrier`. */
export interface NodeHello { type: 'lightcafe:node', carrier: Carrier }

/** SW → node page, with a port: one HTTP request; its body's stream or port is transferred. */
export interface ForwardedRequest {
  type: 'lightcafe:request'
  /** Unique per request; for logs and for `ForwardedAbort`. */
  id: string
  method: string
  url: string
  headers: Array<[string, string]>
  /** `null` for GET and HEAD. */
  body: WireBody | null
}

/** SW → node page, on the request's port: the caller went away before the response head came. */
export interface ForwardedAbort { type: 'lightcafe:abort', id: string }

/** node page → SW, on the request's port: the response head; its body's stream or port is transferred. */
export interface ForwardedResponse {
  type: 'lightcafe:response'
  status: number
  statusText: string
  headers: Array<[string, string]>
  body: WireBody | null
}

/** node page → SW, on the request's port: the request could not be handled at all (HTTP errors are responses). */
export interface ForwardedError { type: 'lightcafe:error', reason: string, details: string }

/** page → SW, by `ServiceWorker.postMessage`: control messages. */
export type PageControl =
  /** This page now serves API requests (the SW need not wait for its next probe), carrying bodies by `carrier`. */
  | { type: 'lightcafe:serving', carrier: Carrier }
  /** This page stopped serving. */
  | { type: 'lightcafe:stopped' }
  /** Take control of this uncontrolled page (`clients.claim()`), e.g. after a hard reload. */
  | { type: 'lightcafe:claim' }
  /** Activate the waiting worker now (the update prompt's "reload" button). */
  | { type: 'skip-waiting' }

export type PortToWorker = NodeHello | ForwardedResponse | ForwardedError

/** Same-origin paths the service worker forwards to the node page. */
export const FORWARDED_PATHS = /^\/(api\/v0|cafe\/v1|ipfs)(\/|$)/

export const BRIDGE_LIMITS = {
  /** How long a request waits for a node page to say it serves before it gets 503 NODE_NOT_READY. */
  findNodeMs: 3_000,
  /** Windows are asked again this often while waiting: a page that is still booting its node ignores probes. */
  probeIntervalMs: 400,
  /** How long the SW waits for a response head; the body then streams without a deadline (a response may be a long-lived stream of updates). */
  responseHeadMs: 120_000,
  /** Until the response body ends, how often the SW checks that the node page and the caller still exist. */
  nodeAliveCheckMs: 1_000,
  /** A request body that stalls this long at the node page errors (BODY_TIMEOUT), as over libp2p. */
  requestBodyIdleMs: 30_000,
  /** A forwarded URL longer than this is refused (400) before it reaches the node; our routes use < 300. */
  maxUrlLength: 8 * 1024,
  /** Header names + values, in UTF-16 code units; a JWT bearer header is < 2 KiB. */
  maxHeaderBytes: 64 * 1024,
  /** More headers than any browser or API client of ours sends. */
  maxHeaderCount: 128
} as const

/** The JSON error shape of the whole HTTP API: `{"error": {"reason", "details"}}`, with the reason's status (or its case's). */
export function errorResponse (reason: Reason, details: string, as?: StatusCase): Response {
  return new Response(JSON.stringify({ error: { reason, details } }), {
    status: statusOf(reason, as),
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' }
  })
}

/** Returns why a request head cannot be forwarded (a 400 reason and details), or `undefined` if it can. */
export function checkRequestHead (url: unknown, method: unknown, headers: unknown): { reason: Reason, details: string } | undefined {
  if (typeof url !== 'string' || url.length === 0) return { reason: 'BAD_URL', details: 'the request has no URL' }
  if (url.length > BRIDGE_LIMITS.maxUrlLength) return { reason: 'URL_TOO_LONG', details: `URLs are limited to ${BRIDGE_LIMITS.maxUrlLength} characters` }
  if (!URL.canParse(url)) return { reason: 'BAD_URL', details: 'the request URL cannot be parsed' }
  if (typeof method !== 'string' || !/^[A-Za-z]{1,16}$/.test(method)) return { reason: 'BAD_METHOD', details: 'the request method is not a plain token' }
  if (!Array.isArray(headers)) return { reason: 'BAD_HEADERS', details: 'the request headers are not a list' }
  if (headers.length > BRIDGE_LIMITS.maxHeaderCount) return { reason: 'HEADERS_TOO_LARGE', details: `at most ${BRIDGE_LIMITS.maxHeaderCount} headers` }
  let size = 0
  for (const pair of headers as unknown[]) {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') {
      return { reason: 'BAD_HEADERS', details: 'each header must be a [name, value] pair of strings' }
    }
    size += pair[0].length + pair[1].length
    if (size > BRIDGE_LIMITS.maxHeaderBytes) return { reason: 'HEADERS_TOO_LARGE', details: `headers are limited to ${BRIDGE_LIMITS.maxHeaderBytes} characters in all` }
  }
  return undefined
}

/** The carrier of the moment, as the SW tells callers in this header of every forwarded answer (diagnostics, tests). */
export const CARRIER_HEADER = 'x-lightcafe-bridge'

/** Statuses whose responses carry no body: a Response with a body and one of these throws. */
export const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304])

export function isMessage<T extends { type: string }> (data: unknown, type: T['type']): data is T {
  return typeof data === 'object' && data != null && (data as { type?: unknown }).type === type
}
