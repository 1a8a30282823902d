import { expect } from '@playwright/test'
import { peakGrowth } from './proc-memory.ts'
import type { ApiResult } from './env.ts'
import type { NodeCafeProcess } from './node-cafe-process.ts'

// What every engine's test asks of the service worker bridge, whatever drives the browser
// (Playwright for Chromium, puppeteer for Firefox, WebDriver for WebKit): one function that runs
// a self-contained function in the page with one JSON argument.

export type PageRun = <A, R>(fn: (arg: A) => Promise<R>, arg: A) => Promise<R>

export const KiB = 1024
export const MiB = 1024 * 1024

/**
 * The local API called the way a same-origin app calls it (fetch through the service worker):
 * runs in the page, so it holds all it needs. A string body goes as it is, anything else as JSON.
 */
export async function apiFromPage ({ method, path, body }: { method: string, path: string, body?: unknown }): Promise<ApiResult> {
  const init: RequestInit = { method, headers: {} }
  if (body !== undefined && body !== null) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body)
    ;(init.headers as Record<string, string>)['content-type'] = 'application/json'
  }
  const res = await fetch(path, init)
  const text = await res.text()
  let parsed: unknown = text
  try { parsed = text === '' ? null : JSON.parse(text) } catch {}
  return { status: res.status, body: parsed as any }
}

export interface RoundTrip {
  cid: string
  /** Statuses of the upload and the read-back, and the carrier header of each answer. */
  status: number
  back: number
  carriers: [string | null, string | null]
  /** The bytes read back are the bytes stored. */
  same: boolean
  upMs: number
  downMs: number
}

/** A file of `size` bytes stored through the local API (the service worker) and read back. */
export async function fileRoundTrip (run: PageRun, size: number): Promise<RoundTrip> {
  return run(async (size: number) => {
    const data = new Uint8Array(size)
    for (let i = 0; i < size; i++) data[i] = (i * 31 + (i >> 8)) & 0xff
    const t0 = performance.now()
    const res = await fetch('/api/v0/files', { method: 'POST', body: data })
    const { cid } = await res.json() as { cid: string }
    const t1 = performance.now()
    const back = await fetch(`/api/v0/files/${cid}`)
    const got = new Uint8Array(await back.arrayBuffer())
    const t2 = performance.now()
    let same = got.length === data.length
    for (let i = 0; same && i < size; i++) same = got[i] === data[i]
    return { cid, status: res.status, back: back.status, carriers: [res.headers.get('x-lightcafe-bridge'), back.headers.get('x-lightcafe-bridge')], same, upMs: Math.round(t1 - t0), downMs: Math.round(t2 - t1) }
  }, size)
}

/** The median of `n` calls of `GET /api/v0/peer` through the service worker, in ms. */
export async function apiRoundTripMs (run: PageRun, n = 15): Promise<number> {
  return run(async (n: number) => {
    const times: number[] = []
    for (let i = 0; i < n; i++) {
      const t0 = performance.now()
      const res = await fetch('/api/v0/peer')
      await res.json()
      if (res.status !== 200) throw new Error(`GET /api/v0/peer answered ${res.status}`)
      times.push(performance.now() - t0)
    }
    times.sort((a, b) => a - b)
    return Math.round(times[Math.floor(n / 2)] * 10) / 10
  }, n)
}

/**
 * What the bridge must do the same way whichever carrier it uses: bodies both ways byte for
 * byte (300 KiB and 8 MiB), JSON calls, a download the caller cancels midway (the node serves on),
 * a long-lived stream of updates that delivers its first line, and the node's own refusals
 * passed through unchanged. Returns the 8 MiB round trip for the figures.
 */
export async function bridgeChecks (run: PageRun, carrier: 'stream' | 'port', pids: number[]): Promise<RoundTrip & { peakBytes: number }> {
  expect(await run(async () => (globalThis as any).lightcafe.bridge as string, null)).toBe(carrier)
  const small = await fileRoundTrip(run, 300 * KiB)
  expect(small).toMatchObject({ status: 201, back: 200, same: true, carriers: [carrier, carrier] })
  const { result: big, peakBytes } = await peakGrowth(pids, async () => fileRoundTrip(run, 8 * MiB))
  expect(big).toMatchObject({ status: 201, back: 200, same: true, carriers: [carrier, carrier] })

  const after = await run(async (cid: string) => {
    // A download given up after its first chunk: the node page stops sending, and serves on.
    const res = await fetch(`/api/v0/files/${cid}`)
    const reader = res.body!.getReader()
    const first = await reader.read()
    await reader.cancel()
    // A long-lived answer (the backups' list, then their changes): its first line arrives.
    const abort = new AbortController()
    const live = await fetch('/api/v0/backups?stream=1', { signal: abort.signal })
    const lines = live.body!.getReader()
    const line = new TextDecoder().decode((await lines.read()).value)
    abort.abort()
    // JSON calls with a body, and the node's refusals, pass through as the node gave them.
    const json = { method: 'PUT', headers: { 'content-type': 'application/json' } }
    const put = await fetch('/api/v0/profile', { ...json, body: JSON.stringify({ name: 'Bridge' }) })
    const wrong = await fetch('/api/v0/profile', { ...json, body: JSON.stringify({ name: 5 }) })
    const bad = await fetch('/api/v0/files/not-a-cid')
    return {
      firstBytes: first.value?.byteLength ?? 0,
      line: line.slice(0, 1),
      put: [put.status, (await put.json()).name],
      wrong: [wrong.status, (await wrong.json()).error.reason],
      bad: [bad.status, (await bad.json()).error.reason],
      peer: (await fetch('/api/v0/peer')).status
    }
  }, big.cid)
  expect(after.firstBytes).toBeGreaterThan(0)
  expect(after).toMatchObject({ line: '{', put: [200, 'Bridge'], wrong: [400, 'INVALID_FIELD'], bad: [400, 'INVALID_CID'], peer: 200 })
  return { ...big, peakBytes }
}

/** MB/s (10^6 bytes a second) of `bytes` in `ms`. */
export const mbps = (bytes: number, ms: number): number => Math.round(bytes / 1e6 / (ms / 1000) * 10) / 10

/**
 * Registers with a Node cafe over WebSockets and backs up a 300 KiB file there; resolves once
 * it is pinned. Returns the file and the time from the registration call to the pin.
 */
export async function registerAndBackUp (api: (method: string, path: string, body?: unknown) => Promise<ApiResult>, run: PageRun, cafe: NodeCafeProcess): Promise<{ cid: string, address: string, registerMs: number, pinnedMs: number }> {
  const { cid } = await fileRoundTrip(run, 300 * KiB)
  const token = (await cafe.owner('POST', '/tokens')).body.token as string
  const from = Date.now()
  const reg = await api('POST', '/api/v0/cafes', { cafe: cafe.ws, token })
  expect(reg.status, JSON.stringify(reg.body)).toBe(201)
  const registerMs = Date.now() - from
  const started = await api('POST', '/api/v0/backups', { cid })
  expect(started.status, JSON.stringify(started.body)).toBe(202)
  await expect.poll(async () => (await api('GET', `/api/v0/backups/${cid}`)).body?.cafes?.[0]?.status, { timeout: 60_000, intervals: [100] }).toBe('pinned')
  const pinnedMs = Date.now() - from
  const address = (await api('GET', '/api/v0/account')).body.address as string
  const held = ((await cafe.owner('GET', '/clients')).body as any[]).find(c => c.address === address)
  expect(held?.pins).toBeGreaterThanOrEqual(1)
  return { cid, address, registerMs, pinnedMs }
}

/** The figures line every engine's test prints (docs/notes/engines.md, "Engines"). */
export function figures (engine: string, f: { readyMs: number, apiMs: number, carrier: string, trip: RoundTrip & { peakBytes: number }, node?: { registerMs: number, pinnedMs: number } }): string {
  const { trip } = f
  return `[engine] ${engine}: page load → ready ${f.readyMs} ms; local API round trip (median) ${f.apiMs} ms; ` +
    `8 MiB over ${f.carrier}: up ${mbps(8 * MiB, trip.upMs)} MB/s (${trip.upMs} ms), back ${mbps(8 * MiB, trip.downMs)} MB/s (${trip.downMs} ms), peak memory +${Math.round(trip.peakBytes / MiB)} MiB` +
    (f.node != null ? `; Node cafe: registered ${f.node.registerMs} ms, first backup (300 KiB) pinned ${f.node.pinnedMs} ms after the registration call` : '')
}
