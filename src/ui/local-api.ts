import { refusalError } from '../shared/errors.ts'
import type { RunningPeer } from '../peer/index.ts'

/**
 * This page's own local API, called directly: the node lives here, so the dashboard needs no
 * trip through the service worker (and works before the worker controls the page).
 */
export async function localFetch (peer: RunningPeer, path: string, init: RequestInit = {}): Promise<Response> {
  return peer.handle(new Request(new URL(path, location.origin), init))
}

/** A JSON call; a refusal throws a LightcafeError with its reason (REMOTE_ERROR when not one of ours) and its text as `REASON: details`. */
export async function call<T = any> (peer: RunningPeer, method: string, path: string, body?: unknown): Promise<T> {
  const res = await localFetch(peer, path, {
    method,
    ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {})
  })
  const data = res.status === 204 ? null : await res.json()
  if (!res.ok) throw refusalError(res.status, data)
  return data as T
}
