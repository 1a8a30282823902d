import type { RunningPeer } from './peer.ts'

/** Calls this page's own local API directly (the node lives here; no trip through the service worker). */
export async function call<T = any> (peer: RunningPeer, method: string, path: string, body?: unknown): Promise<T> {
  const res = await peer.handle(new Request(new URL(path, location.origin), {
    method,
    ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {})
  }))
  const data = res.status === 204 ? null : await res.json()
  if (!res.ok) throw new Error(`${data?.error?.reason ?? res.status}: ${data?.error?.details ?? ''}`)
  return data as T
}
