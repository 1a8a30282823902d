import { chromium } from 'playwright-core'
import { chromiumLaunchOptions } from '../e2e/chromium.ts'
import type { Browser, BrowserContext, Page } from 'playwright-core'

/**
 * Raw IndexedDB writes in this browser: large values (MB/s) and small records (records/s), one
 * transaction each; and small records 100 to a transaction (the limit for anything that batches).
 */
export async function rawIdb (page: Page): Promise<{ idbWriteMBps: number, idbSmallRecordsPerSec: number, idbSmallRecordsBatchedPerSec: number }> {
  return page.evaluate(async () => {
    const open = (): Promise<IDBDatabase> => new Promise((resolve, reject) => {
      const req = indexedDB.open(`bench-raw-${Math.random()}`, 1)
      req.onupgradeneeded = () => { req.result.createObjectStore('s') }
      req.onsuccess = () => resolve(req.result)
      req.onerror = () => reject(req.error)
    })
    const db = await open()
    const put = (key: number, value: Uint8Array): Promise<void> => new Promise((resolve, reject) => {
      const tx = db.transaction('s', 'readwrite')
      tx.objectStore('s').put(value, key)
      tx.oncomplete = () => resolve()
      tx.onerror = () => reject(tx.error)
    })
    const big = crypto.getRandomValues(new Uint8Array(64 * 1024))
    const value = new Uint8Array(256 * 1024)
    for (let i = 0; i < 4; i++) value.set(big, i * big.length)
    const n = 64
    let t = performance.now()
    for (let i = 0; i < n; i++) { value[0] = i; await put(i, value) }
    const bigMs = performance.now() - t
    const small = crypto.getRandomValues(new Uint8Array(1024))
    const m = 1000
    t = performance.now()
    for (let i = 0; i < m; i++) await put(100_000 + i, small)
    const smallMs = performance.now() - t
    const putMany = (from: number, count: number): Promise<void> => new Promise((resolve, reject) => {
      const tx = db.transaction('s', 'readwrite')
      for (let i = 0; i < count; i++) tx.objectStore('s').put(small, from + i)
      tx.oncomplete = () => resolve()
      tx.onerror = () => reject(tx.error)
    })
    const b = 5000
    t = performance.now()
    for (let i = 0; i < b; i += 100) await putMany(200_000 + i, 100)
    const batchedMs = performance.now() - t
    db.close()
    return { idbWriteMBps: (n * value.length / 2 ** 20) / (bigMs / 1000), idbSmallRecordsPerSec: m / (smallMs / 1000), idbSmallRecordsBatchedPerSec: b / (batchedMs / 1000) }
  })
}

/** Message sizes tried for the bulk limit: libp2p's WebRTC streams send 16 KiB; Chromium accepts up to 256 KiB. */
export const DC_MESSAGE_SIZES = [16, 32, 64, 128, 256].map(k => k * 1024)
/** Bytes sent per bulk run: the same as the pin ingest figure's file. */
const DC_BULK_BYTES = 32 * 2 ** 20

export interface DcRun { topology: 'processes' | 'contexts', channels: number, messageKiB: number, MBps: number }
export interface DcLimit {
  /** The most any run reached: the raw limit for anything carried over WebRTC here. */
  limitMBps: number
  best: DcRun
  runs: DcRun[]
  roundTripsPerSec: number
}

/** Opens one RTCPeerConnection per page and connects them (signalling through the driver). */
async function connect (a: Page, b: Page): Promise<void> {
  const setup = `(() => {
    const g = globalThis
    g.__pc = new RTCPeerConnection({ iceServers: [] })
    g.__gathered = new Promise(r => { g.__pc.onicegatheringstatechange = () => { if (g.__pc.iceGatheringState === 'complete') r(null) } })
    // The receiving side: counts bytes per channel label and answers string pings.
    g.__rx = {}
    g.__pc.ondatachannel = e => {
      const dc = e.channel
      dc.binaryType = 'arraybuffer'
      dc.onmessage = m => {
        if (typeof m.data === 'string') { dc.send(m.data); return }
        const now = performance.now()
        const r = g.__rx[dc.label] ??= { bytes: 0, first: now, firstBytes: m.data.byteLength, last: now }
        r.bytes += m.data.byteLength
        r.last = now
      }
    }
  })()`
  await a.evaluate(setup)
  await b.evaluate(setup)
  const offer = await a.evaluate(async () => {
    const g = globalThis as any
    // A first channel so the offer carries SCTP; the runs open their own.
    g.__pc.createDataChannel('warm')
    await g.__pc.setLocalDescription()
    await g.__gathered
    return g.__pc.localDescription.toJSON()
  })
  const answer = await b.evaluate(async (offer) => {
    const g = globalThis as any
    await g.__pc.setRemoteDescription(offer)
    await g.__pc.setLocalDescription()
    await g.__gathered
    return g.__pc.localDescription.toJSON()
  }, offer)
  await a.evaluate(async (answer) => {
    const g = globalThis as any
    await g.__pc.setRemoteDescription(answer)
    await new Promise((resolve, reject) => {
      const t = setTimeout(() => { reject(new Error('the connection did not open')) }, 15_000)
      const check = (): void => { if (g.__pc.sctp?.state === 'connected') { clearTimeout(t); resolve(null) } }
      g.__pc.onconnectionstatechange = check
      if (g.__pc.sctp != null) g.__pc.sctp.onstatechange = check
      check()
    })
  }, answer)
}

/**
 * Sends `total` bytes from a to b over `channels` new ordered channels at once, `size` bytes
 * per message, paced by bufferedAmountLowThreshold (refill when a channel's buffer drains
 * below a quarter of its high-water mark). Timed at the receiver, first message to last.
 */
async function bulk (a: Page, b: Page, run: number, size: number, channels: number, total: number): Promise<number> {
  const labels = Array.from({ length: channels }, (_, i) => `bulk-${run}-${i}`)
  await a.evaluate(async ({ labels, size, total }) => {
    const g = globalThis as any
    const pc = g.__pc as RTCPeerConnection
    const chunk = crypto.getRandomValues(new Uint8Array(Math.min(size, 65536)))
    const message = new Uint8Array(size)
    for (let i = 0; i < size; i += chunk.length) message.set(chunk.subarray(0, Math.min(chunk.length, size - i)), i)
    // High water: 16 messages or 4 MiB, whichever is more; Chromium refuses sends past 16 MiB.
    const high = Math.max(4 << 20, 16 * size)
    const per = Math.ceil(total / labels.length / size)
    const one = async (label: string): Promise<void> => {
      const dc = pc.createDataChannel(label, { ordered: true })
      dc.binaryType = 'arraybuffer'
      await new Promise(resolve => { dc.onopen = resolve })
      dc.bufferedAmountLowThreshold = high / 4
      for (let i = 0; i < per; i++) {
        if (dc.bufferedAmount > high) await new Promise(resolve => { dc.onbufferedamountlow = resolve })
        dc.send(message)
      }
    }
    g.__sending = Promise.all(labels.map(one))
  }, { labels, size, total })
  const expected = Math.ceil(total / channels / size) * size
  await b.waitForFunction(({ labels, expected }) => labels.every(l => ((globalThis as any).__rx[l]?.bytes ?? 0) >= expected), { labels, expected }, { timeout: 120_000, polling: 50 })
  return b.evaluate((labels) => {
    const rx = labels.map(l => (globalThis as any).__rx[l])
    const first = Math.min(...rx.map(r => r.first))
    const last = Math.max(...rx.map(r => r.last))
    // The first message of the earliest channel marks the start: its bytes are not counted.
    const bytes = rx.reduce((n, r) => n + r.bytes, 0) - rx.find(r => r.first === first).firstBytes
    return (bytes / 2 ** 20) / ((last - first) / 1000)
  }, labels)
}

/** Request/response round trips per second of one-byte strings on one channel. */
async function roundTrips (a: Page): Promise<number> {
  return a.evaluate(async () => {
    const dc = ((globalThis as any).__pc as RTCPeerConnection).createDataChannel('ping', { ordered: true })
    await new Promise(resolve => { dc.onopen = resolve })
    const once = async (): Promise<void> => new Promise(resolve => { dc.onmessage = () => resolve(); dc.send('p') })
    for (let i = 0; i < 20; i++) await once()
    const n = 300
    const t = performance.now()
    for (let i = 0; i < n; i++) await once()
    return n / ((performance.now() - t) / 1000)
  })
}

async function blankPage (context: BrowserContext, url: string): Promise<Page> {
  await context.addInitScript('globalThis.__name ??= (f) => f')
  const page = await context.newPage()
  await page.goto(url)
  return page
}

/**
 * The link's real limit for WebRTC here: raw RTCDataChannels between idle blank pages (at
 * `url`), both between two browser processes (what two devices are) and between two contexts
 * of `browser` (what the bench's peers are), every message size of DC_MESSAGE_SIZES on one
 * channel, then the best size on 4 channels at once. The limit is the most any run reached.
 */
export async function rawDataChannelLimit (browser: Browser, url: string): Promise<DcLimit> {
  const other: Browser = await chromium.launch(chromiumLaunchOptions())
  const contexts: BrowserContext[] = []
  const runs: DcRun[] = []
  let rtt = 0
  let n = 0
  try {
    const open = async (b: Browser): Promise<Page> => { const c = await b.newContext(); contexts.push(c); return blankPage(c, url) }
    const pairs: Array<[DcRun['topology'], Page, Page]> = [
      ['processes', await open(browser), await open(other)],
      ['contexts', await open(browser), await open(browser)]
    ]
    for (const [topology, a, b] of pairs) {
      await connect(a, b)
      for (const size of DC_MESSAGE_SIZES) runs.push({ topology, channels: 1, messageKiB: size / 1024, MBps: await bulk(a, b, n++, size, 1, DC_BULK_BYTES) })
      const bestSize = runs.filter(r => r.topology === topology).sort((x, y) => y.MBps - x.MBps)[0].messageKiB * 1024
      runs.push({ topology, channels: 4, messageKiB: bestSize / 1024, MBps: await bulk(a, b, n++, bestSize, 4, DC_BULK_BYTES) })
      rtt = Math.max(rtt, await roundTrips(a))
    }
  } finally {
    await Promise.allSettled(contexts.map(async c => c.close()))
    await other.close()
  }
  const best = [...runs].sort((x, y) => y.MBps - x.MBps)[0]
  return { limitMBps: best.MBps, best, runs, roundTripsPerSec: rtt }
}

/** The bench's throwaway protocol: the receiver counts what arrives and never answers. */
const SINK_PROTOCOL = '/lightcafe-bench/sink/1.0.0'
/** Bulk bytes over one libp2p stream, as DC_BULK_BYTES over a raw channel, in the writes a picked File gives. */
const STREAM_BULK_BYTES = 32 * 2 ** 20
const STREAM_WRITE_BYTES = 256 * 1024

export interface StreamLimit {
  /** The most any run reached: the ceiling for anything sent over libp2p here. */
  limitMBps: number
  runs: number[]
}

/**
 * The ceiling for anything the app sends over libp2p: STREAM_BULK_BYTES over one new libp2p
 * stream on the direct WebRTC connection between two app pages (`a` sends to `b`, peer id
 * `bId`), with the app's own libp2p node (`lightcafe.peer.node.libp2p`), `runs` times on the
 * same connection. The sender writes STREAM_WRITE_BYTES at a time, waiting for drain when the
 * stream says so; the receiver counts bytes from its `message` events (so nothing waits in its
 * read buffer). Each run is timed at the receiver, first message to last, the first message's
 * bytes not counted (as `bulk` above). The limit is the most any run reached, as the raw one.
 */
export async function libp2pStreamLimit (a: Page, b: Page, bId: string, runs = 3): Promise<StreamLimit> {
  await b.evaluate(async (protocol) => {
    const g = globalThis as any
    await g.lightcafe.peer.node.libp2p.handle(protocol, (stream: any) => {
      const r = g.__sink = { bytes: 0, first: 0, firstBytes: 0, last: 0 }
      stream.addEventListener('message', (e: any) => {
        const now = performance.now()
        if (r.bytes === 0) { r.first = now; r.firstBytes = e.data.byteLength }
        r.bytes += e.data.byteLength
        r.last = now
      })
    })
  }, SINK_PROTOCOL)
  const out: number[] = []
  try {
    // Any request dials the peer as the app dials a cafe (signalling via the relay, then
    // direct WebRTC); its answer does not matter, the connection it leaves open does.
    await a.evaluate(async (bId) => { await (await (globalThis as any).lightcafe.peer.rawCafeFetch(bId, new Request('http://cafe/cafe/v1/info'))).arrayBuffer() }, bId)
    for (let run = 0; run < runs; run++) {
      await a.evaluate(async ({ protocol, bId, total, size }) => {
        const conn = (globalThis as any).lightcafe.peer.node.libp2p.getConnections().find((c: any) => c.status === 'open' && c.limits == null && c.remotePeer.toString() === bId && c.remoteAddr.toString().includes('/webrtc'))
        if (conn == null) throw new Error(`no direct WebRTC connection to ${bId as string}`)
        const stream = await conn.newStream(protocol)
        // One buffer sent again and again, as `bulk` does: the figure is the stream's, not allocation's.
        const chunk = crypto.getRandomValues(new Uint8Array(65536))
        const write = new Uint8Array(size)
        for (let j = 0; j < size; j += chunk.length) write.set(chunk, j)
        for (let i = 0; i < total / size; i++) {
          if (!stream.send(write)) await stream.onDrain()
        }
        await stream.close()
      }, { protocol: SINK_PROTOCOL, bId, total: STREAM_BULK_BYTES, size: STREAM_WRITE_BYTES })
      await b.waitForFunction((total) => ((globalThis as any).__sink?.bytes ?? 0) >= total, STREAM_BULK_BYTES, { timeout: 120_000, polling: 50 })
      out.push(await b.evaluate(() => {
        const g = globalThis as any
        const r = g.__sink
        g.__sink = undefined
        return ((r.bytes - r.firstBytes) / 2 ** 20) / ((r.last - r.first) / 1000)
      }))
    }
  } finally {
    await b.evaluate(async (protocol) => (globalThis as any).lightcafe.peer.node.libp2p.unhandle(protocol), SINK_PROTOCOL)
  }
  return { limitMBps: Math.max(...out), runs: out }
}
