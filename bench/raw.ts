import type { Page } from 'playwright-core'

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

/**
 * A raw RTCDataChannel between two browser contexts (signalling through the test driver):
 * bulk throughput and request/response round trips per second. The ceiling for anything
 * carried over WebRTC between the same two contexts.
 */
export async function rawDataChannel (a: Page, b: Page): Promise<{ dcThroughputMBps: number, dcRoundTripsPerSec: number }> {
  const setup = `(() => {
    const pc = new RTCPeerConnection({ iceServers: [] })
    const g = globalThis
    g.__pc = pc
    g.__cands = []
    pc.onicecandidate = e => { if (e.candidate) g.__cands.push(e.candidate.toJSON()) }
  })()`
  await a.evaluate(setup)
  await b.evaluate(setup)
  const offer = await a.evaluate(async () => {
    const g = globalThis as any
    g.__dc = g.__pc.createDataChannel('bench', { ordered: true })
    g.__dc.binaryType = 'arraybuffer'
    await g.__pc.setLocalDescription()
    await new Promise(r => { if (g.__pc.iceGatheringState === 'complete') r(null); else g.__pc.onicegatheringstatechange = () => { if (g.__pc.iceGatheringState === 'complete') r(null) } })
    return g.__pc.localDescription.toJSON()
  })
  const answer = await b.evaluate(async (offer) => {
    const g = globalThis as any
    g.__pc.ondatachannel = (e: RTCDataChannelEvent) => {
      const dc = e.channel
      dc.binaryType = 'arraybuffer'
      g.__received = 0
      dc.onmessage = (m: MessageEvent) => {
        if (typeof m.data === 'string') dc.send(m.data) // ping → pong
        else g.__received += (m.data as ArrayBuffer).byteLength
      }
    }
    await g.__pc.setRemoteDescription(offer)
    await g.__pc.setLocalDescription()
    await new Promise(r => { if (g.__pc.iceGatheringState === 'complete') r(null); else g.__pc.onicegatheringstatechange = () => { if (g.__pc.iceGatheringState === 'complete') r(null) } })
    return g.__pc.localDescription.toJSON()
  }, offer)
  await a.evaluate(async (answer) => {
    const g = globalThis as any
    await g.__pc.setRemoteDescription(answer)
    await new Promise((resolve, reject) => {
      if (g.__dc.readyState === 'open') resolve(null)
      g.__dc.onopen = () => resolve(null)
      setTimeout(() => reject(new Error('data channel did not open')), 15_000)
    })
  }, answer)
  const total = 32 * 2 ** 20
  const sendMs = await a.evaluate(async (total) => {
    const dc = (globalThis as any).__dc as RTCDataChannel
    const chunk = new Uint8Array(64 * 1024)
    dc.bufferedAmountLowThreshold = 1 << 20
    const t = performance.now()
    for (let sent = 0; sent < total; sent += chunk.length) {
      if (dc.bufferedAmount > 4 << 20) await new Promise(r => { dc.onbufferedamountlow = () => r(null) })
      dc.send(chunk)
    }
    return t
  }, total)
  await b.waitForFunction((total) => (globalThis as any).__received >= total, total, { timeout: 60_000 })
  const elapsed = await a.evaluate((t0) => performance.now() - t0, sendMs)
  const rtt = await a.evaluate(async () => {
    const dc = (globalThis as any).__dc as RTCDataChannel
    const n = 300
    const t = performance.now()
    for (let i = 0; i < n; i++) {
      await new Promise(resolve => { dc.onmessage = () => resolve(null); dc.send('p') })
    }
    return n / ((performance.now() - t) / 1000)
  })
  await a.evaluate(() => { (globalThis as any).__pc.close() })
  await b.evaluate(() => { (globalThis as any).__pc.close() })
  return { dcThroughputMBps: (total / 2 ** 20) / (elapsed / 1000), dcRoundTripsPerSec: rtt }
}
