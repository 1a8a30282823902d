import { readdir, readFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { extname, join } from 'node:path'
import { gzipSync } from 'node:zlib'
import type { AddressInfo } from 'node:net'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { round } from './stats.ts'

/**
 * The dashboard's front-end figures for `npm run bench`: bundle sizes, paint times, time to
 * interactive and layout shift. Each helper only measures; run.ts decides what to print.
 */

export interface Size { bytes: number, gzipBytes: number }
export interface FileSize extends Size { file: string }

/** Raw and gzip (level 9) bytes of one file: what is stored and what a compressing server would send. */
async function sizeOf (path: string, file: string): Promise<FileSize> {
  const data = await readFile(path)
  return { file, bytes: data.length, gzipBytes: gzipSync(data, { level: 9 }).length }
}

/** Adds sizes up, so totals come from the same numbers as the per-file rows. */
function total (sizes: Size[]): Size {
  return sizes.reduce((t, s) => ({ bytes: t.bytes + s.bytes, gzipBytes: t.gzipBytes + s.gzipBytes }), { bytes: 0, gzipBytes: 0 })
}

/** gzip bytes over raw bytes: the raw limit for a transfer is the file itself. */
const gzipRatio = (s: Size): number => round(s.gzipBytes / s.bytes, 3)

/**
 * What a first visit downloads, read from the build in `dist`: every JS and CSS file in
 * assets/ (source maps are not fetched by the app, so they are only counted apart), index.html and sw.js.
 */
export async function bundleSizes (dist: string): Promise<Record<string, unknown>> {
  const names = (await readdir(join(dist, 'assets'))).sort()
  const code = names.filter(n => ['.js', '.css'].includes(extname(n)))
  const assets = await Promise.all(code.map(async n => sizeOf(join(dist, 'assets', n), n)))
  const js = total(assets.filter(a => a.file.endsWith('.js')))
  const css = total(assets.filter(a => a.file.endsWith('.css')))
  const indexHtml = await sizeOf(join(dist, 'index.html'), 'index.html')
  const sw = await sizeOf(join(dist, 'sw.js'), 'sw.js')
  const firstVisit = total([...assets, indexHtml, sw])
  return {
    assets,
    totals: { js, css, assets: total(assets), firstVisit },
    indexHtml: { bytes: indexHtml.bytes, gzipBytes: indexHtml.gzipBytes },
    sw: { bytes: sw.bytes, gzipBytes: sw.gzipBytes },
    otherAssetFiles: names.filter(n => !code.includes(n)),
    ratios: { jsGzipVsRaw: gzipRatio(js), cssGzipVsRaw: gzipRatio(css), firstVisitGzipVsRaw: gzipRatio(firstVisit) }
  }
}

const BLANK_PAGE = '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>blank</title></head><body><p>Blank page</p></body></html>'

/** A one-line static page on its own server (127.0.0.1, free port): the raw limit for painting anything here. */
export async function startBlankServer (): Promise<{ url: string, stop: () => Promise<void> }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': String(Buffer.byteLength(BLANK_PAGE)), 'cache-control': 'no-cache' }).end(BLANK_PAGE)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/`,
    stop: async () => {
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }
}

export interface Paint { firstPaintMs: number | null, firstContentfulPaintMs: number | null }

/** First paint and first contentful paint of the page's navigation (null if not seen within `timeoutMs`). */
export async function paintTimings (page: Page, timeoutMs = 10_000): Promise<Paint> {
  await page.waitForFunction(() => performance.getEntriesByName('first-contentful-paint').length > 0, null, { timeout: timeoutMs, polling: 50 }).catch(() => {})
  const entries = await page.evaluate(() => performance.getEntriesByType('paint').map(e => ({ name: e.name, startTime: e.startTime })))
  const at = (name: string): number | null => { const e = entries.find(x => x.name === name); return e == null ? null : round(e.startTime) }
  return { firstPaintMs: at('first-paint'), firstContentfulPaintMs: at('first-contentful-paint') }
}

/** A fresh context for pages this module drives itself; tsx's `__name` helper gets a no-op, as in e2e/env.ts. */
async function freshContext (browser: Browser): Promise<BrowserContext> {
  const context = await browser.newContext()
  await context.addInitScript('globalThis.__name ??= (f) => f')
  return context
}

/** Paint times of the blank page in a fresh context: measured next to each app load, under the same load. */
export async function blankPagePaint (browser: Browser, url: string): Promise<Paint> {
  const context = await freshContext(browser)
  try {
    const page = await context.newPage()
    await page.goto(url)
    return await paintTimings(page)
  } finally {
    await context.close()
  }
}

export interface Timings { scriptMs: number, peerMs: number, reservedMs: number, readyMs: number, uiMs: number, swMs?: number, marks?: Record<string, number> }

/**
 * The page's load timings once the dashboard is interactive (uiMs ≥ 0), or as they stand after
 * `timeoutMs`, with every `lc:*` performance mark so far (ms since navigation).
 */
export async function waitForUi (page: Page, timeoutMs = 30_000): Promise<Timings> {
  await page.waitForFunction(() => ((globalThis as any).lightcafe?.timings?.uiMs ?? -1) >= 0, null, { timeout: timeoutMs, polling: 20 }).catch(() => {})
  return page.evaluate(() => {
    const marks = Object.fromEntries(performance.getEntriesByType('mark').filter(m => m.name.startsWith('lc:')).map(m => [m.name.slice(3), Math.round(m.startTime)]))
    return { ...(globalThis as any).lightcafe?.timings, marks } as Timings
  })
}

/**
 * Runs before any of the page's scripts: sums layout-shift values not caused by input into
 * `__cls.sum` and keeps every entry with its sources described at once (a node may be
 * replaced by the next render, so it is described while still current).
 */
const LAYOUT_SHIFT_OBSERVER = `(() => {
  const g = globalThis
  g.__cls = { sum: 0, entries: [] }
  const rect = r => r == null ? null : { x: Math.round(r.x), y: Math.round(r.y), w: Math.round(r.width), h: Math.round(r.height) }
  const describe = s => {
    const n = s.node
    const el = n == null ? null : (n.nodeType === 1 ? n : n.parentElement)
    const within = el == null ? null : el.parentElement?.closest('[id]')
    return {
      node: n == null ? null : (n.nodeType === 1 ? 'element' : n.nodeName.toLowerCase()),
      tag: el?.tagName.toLowerCase() ?? null,
      id: el?.id || null,
      class: el?.getAttribute('class') || null,
      testId: el?.getAttribute('data-testid') || null,
      within: within == null ? null : within.tagName.toLowerCase() + '#' + within.id,
      text: (n?.textContent ?? '').trim().slice(0, 60),
      previousRect: rect(s.previousRect),
      currentRect: rect(s.currentRect)
    }
  }
  new PerformanceObserver(list => {
    for (const e of list.getEntries()) {
      if (e.hadRecentInput) continue
      g.__cls.sum += e.value
      g.__cls.entries.push({ value: e.value, startTime: e.startTime, sources: (e.sources ?? []).map(describe) })
    }
  }).observe({ type: 'layout-shift', buffered: true })
})()`

export interface Shift { value: number, startTime: number, sources: Array<Record<string, unknown>> }

/** Chrome's "CLS" as web-vitals reports it: the worst burst (gaps < 1 s, at most 5 s long), for comparison with the plain sum. */
function worstSessionWindow (shifts: Shift[]): number {
  let worst = 0
  let sum = 0
  let start = -Infinity
  let last = -Infinity
  for (const s of [...shifts].sort((a, b) => a.startTime - b.startTime)) {
    if (s.startTime - last > 1000 || s.startTime - start > 5000) { sum = 0; start = s.startTime }
    sum += s.value
    last = s.startTime
    worst = Math.max(worst, sum)
  }
  return worst
}

/**
 * Cumulative layout shift of a fresh load of the app at `url` (with `role` stored, its home
 * view; without, the first-run question), read `afterUiMs` after the
 * dashboard became interactive (so the first live readings have streamed in), with the
 * `top` largest shifts and the elements that moved.
 */
export async function layoutShift (browser: Browser, url: string, afterUiMs = 5_000, top = 5, role?: 'cafe' | 'guest' | 'all'): Promise<Record<string, unknown>> {
  const context = await freshContext(browser)
  try {
    await context.addInitScript(LAYOUT_SHIFT_OBSERVER)
    // A role as a first run stores it (src/ui/role.ts): the page opens on its home view, not the question.
    if (role != null) await context.addInitScript(r => { localStorage.setItem('lightcafe.role', r) }, role)
    const page = await context.newPage()
    const viewport = page.viewportSize()
    await page.goto(url)
    const timings = await waitForUi(page)
    if (timings.uiMs >= 0) {
      await page.waitForFunction(at => performance.now() >= at, timings.uiMs + afterUiMs, { timeout: afterUiMs + 10_000, polling: 100 }).catch(() => {})
    }
    const seen = await page.evaluate(() => ({ ...(globalThis as any).__cls, atMs: performance.now() }) as { sum: number, entries: Shift[], atMs: number })
    const largest = [...seen.entries].sort((a, b) => b.value - a.value).slice(0, top)
    return {
      cls: round(seen.sum, 4),
      worstSessionWindow: round(worstSessionWindow(seen.entries), 4),
      shifts: seen.entries.length,
      uiMs: timings.uiMs,
      readAtMs: Math.round(seen.atMs),
      viewport,
      largest: largest.map(s => ({ value: round(s.value, 4), atMs: Math.round(s.startTime), sources: s.sources }))
    }
  } finally {
    await context.close()
  }
}
