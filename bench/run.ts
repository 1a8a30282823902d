import '../relay/polyfill.ts'
import { execFile } from 'node:child_process'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { chromium } from 'playwright-core'
import { chromiumLaunchOptions } from '../e2e/chromium.ts'
import { Env, Peer } from '../e2e/env.ts'
import { makeCafe, newToken } from '../e2e/helpers.ts'
import { accountFromMnemonic, newMnemonic } from '../src/account/index.ts'
import { boxKeyPair } from '../src/account/box.ts'
import { signContact } from '../src/contacts/index.ts'
import { createEnvelope } from '../src/inbox/index.ts'
import { toBase64url } from '../src/shared/bytes.ts'
import { blankPagePaint, bundleSizes, layoutShift, paintTimings, startBlankServer, waitForUi } from './frontend.ts'
import type { Paint, Timings } from './frontend.ts'
import { selectGroups } from './groups.ts'
import { contactScaling, inboxScaling, pinScaling } from './scaling.ts'
import { libp2pStreamLimit, rawDataChannelLimit, rawIdb } from './raw.ts'
import { networkFigures } from './network.ts'
import { median, round } from './stats.ts'

/**
 * `npm run bench`: the same real parts as the e2e suite (Chromium, relay process, WebRTC),
 * printing one JSON object of figures plus raw limits measured in this run and the ratios.
 * Never fails on time: it only reports. BENCH_ONLY=<group>,<group> runs only those groups
 * (bench/groups.ts names them); each group measures the raw limits its ratios need.
 */
/** The median of the values that were measured (a paint not seen in time is null), or null if none. */
const medianOf = (xs: Array<number | null>): number | null => { const v = xs.filter((x): x is number => x != null); return v.length === 0 ? null : round(median(v)) }

const want = selectGroups(process.env.BENCH_ONLY)
/** A raw limit measured at most once per run, by the first group that needs it. */
const once = <T>(f: () => Promise<T>): () => Promise<T> => { let p: Promise<T> | undefined; return async () => (p ??= f()) }

// The build the bench script just ran: sizes are read before anything serves it.
const bundle = await bundleSizes(resolve('dist'))
const blank = await startBlankServer()
const env = new Env(await mkdtemp(join(tmpdir(), 'lightcafe-bench-')))
await env.start()
const browser = await chromium.launch(chromiumLaunchOptions())
const figures: Record<string, unknown> = {}
const raw: Record<string, number> = {}
const ratios: Record<string, number> = {}
try {
  // Page load → relay reservation → ready → dashboard interactive, over 3 fresh profiles; each
  // app load's paint times next to a blank page's, painted in a fresh context just before it.
  const loads: Timings[] = []
  const appPaints: Paint[] = []
  const blankPaints: Paint[] = []
  const opened: Peer[] = []
  for (let i = 0; i < 3; i++) {
    blankPaints.push(await blankPagePaint(browser, blank.url))
    const p = await Peer.open(browser, env, `load-${i}`)
    opened.push(p)
    await p.page.waitForFunction(() => (globalThis as any).lightcafe.timings.reservedMs >= 0, null, { timeout: 30_000 })
    // The earlier phases are set once, so the timings read when the UI is up hold the same values.
    loads.push(await waitForUi(p.page, 30_000))
    appPaints.push(await paintTimings(p.page))
  }
  if (want('load')) {
    figures.pageLoadToReservationMs = median(loads.map(l => l.reservedMs))
    figures.pageLoadToReadyMs = median(loads.map(l => l.readyMs))
    figures.pageLoadPhasesMs = loads[loads.length - 1]
  }
  if (want('frontend')) figures.frontend = await frontendFigures(loads, appPaints, blankPaints)
  // Peers of its own: a cafe whose network goes away must not disturb the other groups.
  if (want('network')) figures.network = await networkFigures(browser, env)

  const [cafe, client, fresh] = opened
  const { peerId: cafeId } = await makeCafe(cafe)
  const rawIdbLimits = once(async () => {
    const idb = await rawIdb(fresh.page)
    raw.idbWriteMBps = round(idb.idbWriteMBps)
    raw.idbSmallRecordsPerSec = round(idb.idbSmallRecordsPerSec)
    raw.idbSmallRecordsBatchedPerSec = round(idb.idbSmallRecordsBatchedPerSec)
    return idb
  })
  // The link's limit: idle pages, two browser processes and two contexts, every message size.
  const rawDc = once(async () => {
    const dc = await rawDataChannelLimit(browser, blank.url)
    raw.dataChannelMBps = round(dc.limitMBps)
    raw.dataChannelRoundTripsPerSec = round(dc.roundTripsPerSec)
    figures.rawDataChannelRuns = dc.runs.map(r => ({ ...r, MBps: round(r.MBps) }))
    return dc
  })
  // The ceiling for anything sent over libp2p here: one libp2p stream on a direct WebRTC
  // connection between two idle app pages of their own (two contexts, as cafe and client),
  // the best of 5 runs (the first on a new connection is often the slowest).
  const rawStream = once(async () => {
    const [a, b] = [await Peer.open(browser, env, 'stream-a'), await Peer.open(browser, env, 'stream-b')]
    try {
      await Promise.all([a.reachable(), b.reachable()])
      const bId = (await b.api('GET', '/api/v0/peer')).body.peerId as string
      const { limitMBps: MBps, runs } = await libp2pStreamLimit(a.page, b.page, bId, 5)
      raw.libp2pStreamMBps = round(MBps)
      figures.libp2pStreamRuns = runs.map(r => round(r))
      ratios.libp2pStreamVsRawDataChannel = round(MBps / (await rawDc()).limitMBps, 3)
      return MBps
    } finally {
      await Promise.allSettled([a.close(), b.close()])
    }
  })
  /** More fresh peers (senders, dialers), opened the first time a group asks for them. */
  const spare: Peer[] = []
  const sparePeers = async (n: number): Promise<Peer[]> => {
    while (spare.length < n) { const p = await Peer.open(browser, env, `spare-${spare.length}`); opened.push(p); spare.push(p) }
    return spare.slice(0, n)
  }

  // Time to direct WebRTC: a fresh peer's first request to the cafe (signalling via the relay,
  // then direct), over three fresh peers: the first dial of a new page varies a lot.
  if (want('dial')) {
    const dialMs: number[] = []
    const visibility: string[] = []
    for (const p of [fresh, ...await sparePeers(2)]) {
      visibility.push(await p.page.evaluate(() => document.visibilityState))
      dialMs.push(await p.page.evaluate(async (id) => {
        const t = performance.now()
        const res = await (globalThis as any).lightcafe.peer.rawCafeFetch(id, new Request('http://cafe/cafe/v1/info'))
        await res.json()
        return performance.now() - t
      }, cafeId))
    }
    figures.timeToDirectWebrtcMs = { median: round(median(dialMs)), all: dialMs.map(ms => round(ms)), visibility }
  }

  // Registration round trip through the service worker and the local API: cold (new connection) and warm.
  if (want('registration')) {
    const regMs: number[] = []
    const visibility = await client.page.evaluate(() => document.visibilityState)
    for (const p of [client, client, client]) {
      const token = await newToken(cafe)
      regMs.push(await p.page.evaluate(async ({ id, token }) => {
        const t = performance.now()
        const res = await fetch('/api/v0/cafes', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ cafe: id, token }) })
        if (res.status !== 201) throw new Error(`registration failed: ${res.status} ${await res.text()}`)
        const ms = performance.now() - t
        await fetch(`/api/v0/cafes/${id}`, { method: 'DELETE' })
        return ms
      }, { id: cafeId, token }))
    }
    figures.registrationRoundTripMs = { cold: round(regMs[0]), warmMedian: round(median(regMs.slice(1))), visibility }
  }

  // The client stays registered from here on (sessions, backups).
  const token = await newToken(cafe)
  const reg = await client.api('POST', '/api/v0/cafes', { cafe: cafeId, token })
  if (reg.status !== 201) throw new Error(`registration failed: ${JSON.stringify(reg.body)}`)

  // Authenticated no-op route over libp2p: sequential and 16 in flight.
  if (want('noop')) {
    const rate = await client.page.evaluate(async (id) => {
      const c = (globalThis as any).lightcafe.peer.client
      const one = async (): Promise<void> => { const r = await c.request(id, '/cafe/v1/sessions/me'); if (r.status !== 200) throw new Error(String(r.status)); await r.arrayBuffer() }
      for (let i = 0; i < 20; i++) await one()
      let t = performance.now()
      const n = 300
      for (let i = 0; i < n; i++) await one()
      const seq = n / ((performance.now() - t) / 1000)
      t = performance.now()
      let left = 600
      await Promise.all(Array.from({ length: 16 }, async () => { while (left-- > 0) await one() }))
      const conc = 600 / ((performance.now() - t) / 1000)
      return { seq, conc }
    }, cafeId)
    figures.noopRouteReqPerSec = { sequential: round(rate.seq), concurrent16: round(rate.conc) }
    ratios.noopSequentialVsRawDataChannelRoundTrips = round(rate.seq / (await rawDc()).roundTripsPerSec, 3)
  }

  // JWT verification cost per request, in the cafe page: the full check (signature, claims, session lookup).
  if (want('jwt')) {
    const clientPeer = await client.api('GET', '/api/v0/peer')
    figures.sessionVerifyUsPerRequest = round(await cafe.page.evaluate(async ({ access, peerId }) => {
      const host = (globalThis as any).lightcafe.peer.cafe
      for (let i = 0; i < 50; i++) await host.authenticate(access, peerId)
      const n = 500
      const t = performance.now()
      for (let i = 0; i < n; i++) await host.authenticate(access, peerId)
      return (performance.now() - t) * 1000 / n
    }, { access: reg.body.access, peerId: clientPeer.body.peerId }))
  }

  // Backup: pin ingest over WebRTC (client outbox → CAR upload → cafe verifies and writes to
  // IndexedDB), JS heap while backing up 100 MiB, and recovery of 20 MiB on a new profile.
  if (want('backup')) {
    const addFile = async (p: Peer, mib: number): Promise<string> => p.page.evaluate(async (mib) => {
      // Random bytes made as they are read, 256 KiB at a time, as a picked File's stream gives
      // them from disk: the whole file as one array (as before) put the bench's own 100 MiB into
      // the page's heap, then left it as garbage in the backup's heap figure.
      let left = mib * 1024 * 1024
      const file = new ReadableStream<Uint8Array>({
        pull (controller) {
          if (left === 0) { controller.close(); return }
          const chunk = new Uint8Array(Math.min(256 * 1024, left))
          for (let i = 0; i < chunk.length; i += 65536) crypto.getRandomValues(chunk.subarray(i, i + 65536))
          left -= chunk.length
          controller.enqueue(chunk)
        }
      })
      // Straight to the files API of the node: a 100 MiB fetch body would make Chromium copy it
      // into DevTools network events, which overflow Playwright's pipe.
      return (await (globalThis as any).lightcafe.peer.files.add(file, { encrypt: true })).cid as string
    }, mib)
    const backup = async (p: Peer, cid: string): Promise<{ ms: number, clientHeapPeakMB: number }> => p.page.evaluate(async (cid) => {
      const heap = (): number => (performance as any).memory?.usedJSHeapSize ?? 0
      let peak = heap()
      const sampler = setInterval(() => { peak = Math.max(peak, heap()) }, 50)
      const t = performance.now()
      await fetch('/api/v0/backups', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ cid }) })
      for (;;) {
        const s = await (await fetch(`/api/v0/backups/${cid}`)).json()
        if (s.cafes[0].status === 'pinned') break
        if (s.cafes[0].status === 'failed') throw new Error(JSON.stringify(s))
        await new Promise(resolve => setTimeout(resolve, 50))
      }
      const ms = performance.now() - t
      clearInterval(sampler)
      return { ms, clientHeapPeakMB: peak / 2 ** 20 }
    }, cid)
    const cafeHeap = async (): Promise<number> => cafe.page.evaluate(() => ((performance as any).memory?.usedJSHeapSize ?? 0) / 2 ** 20)
    const address = (await client.api('GET', '/api/v0/account')).body.address as string
    const bytesAt = async (): Promise<number> => ((await cafe.api('GET', '/api/v0/clients')).body as any[]).find(c => c.address === address).bytes
    const cid32 = await addFile(client, 32)
    const before32 = await bytesAt()
    const ingest = await backup(client, cid32)
    const ingestMBps = (await bytesAt() - before32) / 2 ** 20 / (ingest.ms / 1000)
    figures.pinIngestMBps = round(ingestMBps)
    ratios.pinIngestVsRawIdbWrites = round(ingestMBps / (await rawIdbLimits()).idbWriteMBps, 3)
    ratios.pinIngestVsRawDataChannel = round(ingestMBps / (await rawDc()).limitMBps, 3)
    ratios.pinIngestVsLibp2pStream = round(ingestMBps / await rawStream(), 3)

    const cid100 = await addFile(client, 100)
    const heapBefore = { client: await client.page.evaluate(() => ((performance as any).memory?.usedJSHeapSize ?? 0) / 2 ** 20), cafe: await cafeHeap() }
    let cafePeak = heapBefore.cafe
    const cafeSampler = setInterval(() => { cafeHeap().then(h => { cafePeak = Math.max(cafePeak, h) }).catch(() => {}) }, 200)
    const big = await backup(client, cid100)
    clearInterval(cafeSampler)
    figures.backup100MiB = {
      seconds: round(big.ms / 1000),
      clientHeapMB: { before: round(heapBefore.client), peak: round(big.clientHeapPeakMB) },
      cafeHeapMB: { before: round(heapBefore.cafe), peak: round(cafePeak) }
    }

    const cid20 = await addFile(client, 20)
    await backup(client, cid20)
    const mnemonic = (await client.api('GET', '/api/v0/account/mnemonic')).body.mnemonic
    const restored = await Peer.open(browser, env, 'restored')
    opened.push(restored)
    await restored.api('POST', '/api/v0/account', { mnemonic })
    const rreg = await restored.api('POST', '/api/v0/cafes', { cafe: cafeId, token })
    if (rreg.status !== 201) throw new Error(`re-registration failed: ${JSON.stringify(rreg.body)}`)
    const recovery = await restored.page.evaluate(async (id) => {
      const t = performance.now()
      const res = await fetch(`/api/v0/cafes/${id}/recover`, { method: 'POST' })
      const body = await res.json()
      return { ms: performance.now() - t, bytes: body.bytes as number, dags: body.dags as number }
    }, cafeId)
    // Everything backed up so far (32 + 100 + 20 MiB) is recovered; report the time per 20 MiB too.
    const recoveryMBps = recovery.bytes / 2 ** 20 / (recovery.ms / 1000)
    figures.recovery = { seconds: round(recovery.ms / 1000), MiB: round(recovery.bytes / 2 ** 20), dags: recovery.dags, secondsPer20MiB: round(recovery.ms / 1000 / (recovery.bytes / 2 ** 20) * 20, 2), MBps: round(recoveryMBps) }
    ratios.recoveryVsRawDataChannel = round(recoveryMBps / (await rawDc()).limitMBps, 3)
    ratios.recoveryVsLibp2pStream = round(recoveryMBps / await rawStream(), 3)
  }

  // Inbox: deliver + persist rate of 1 KiB messages (a burst within one sender's allowance, 16
  // in flight), drain time of 1,000 queued messages when the recipient's profile reopens (four
  // senders: each peer's allowance is a burst of 300), and push latency to an online recipient.
  if (want('inbox')) {
    const profileDir = await mkdtemp(join(tmpdir(), 'lightcafe-bench-profile-'))
    let bob = await Peer.openPersistent(env, 'bob', profileDir)
    const breg = await bob.api('POST', '/api/v0/cafes', { cafe: cafeId, token: await newToken(cafe) })
    if (breg.status !== 201) throw new Error(`bob's registration failed: ${JSON.stringify(breg.body)}`)
    const bobContact = (await bob.api('PUT', '/api/v0/profile', { name: 'Bob' })).body
    const envelopes = async (n: number): Promise<string[]> => {
      const sender = accountFromMnemonic(newMnemonic())
      const text = new Uint8Array(1024).fill(0x61)
      return Promise.all(Array.from({ length: n }, async () => JSON.stringify(await createEnvelope(sender, bobContact, text))))
    }
    const deliverAll = async (from: Peer, bodies: string[]): Promise<{ ms: number, statuses: number[] }> => from.page.evaluate(async ({ id, bodies }) => {
      const statuses: number[] = []
      let next = 0
      const t = performance.now()
      await Promise.all(Array.from({ length: 16 }, async () => {
        while (next < bodies.length) {
          const body = bodies[next++]
          const res: Response = await (globalThis as any).lightcafe.peer.rawCafeFetch(id, new Request('http://cafe/cafe/v1/inbox', { method: 'POST', headers: { 'content-type': 'application/json' }, body }))
          await res.arrayBuffer()
          statuses.push(res.status)
        }
      }))
      return { ms: performance.now() - t, statuses }
    }, { id: cafeId, bodies })
    // The same 1 KiB messages through the batch route (what a flushing outbox uses): 100 an
    // envelope request, 2 requests in flight; a message counts when its result has a seq.
    const deliverBatched = async (from: Peer, bodies: string[]): Promise<{ ms: number, stored: number }> => from.page.evaluate(async ({ id, bodies }) => {
      const batches: string[][] = []
      for (let i = 0; i < bodies.length; i += 100) batches.push(bodies.slice(i, i + 100))
      let stored = 0
      let next = 0
      const t = performance.now()
      await Promise.all(Array.from({ length: 2 }, async () => {
        while (next < batches.length) {
          const body = `{"envelopes":[${batches[next++].join(',')}]}`
          const res: Response = await (globalThis as any).lightcafe.peer.rawCafeFetch(id, new Request('http://cafe/cafe/v1/inbox/batch', { method: 'POST', headers: { 'content-type': 'application/json' }, body }))
          const { results } = await res.json()
          stored += (results as Array<{ seq?: number }>).filter(r => typeof r.seq === 'number').length
        }
      }))
      return { ms: performance.now() - t, stored }
    }, { id: cafeId, bodies })
    await bob.close()
    const senders = [fresh, ...await sparePeers(3)]
    // Each sender's connection to the cafe is up before timing: the rate is delivery, not the first dial.
    for (const p of senders) await p.page.evaluate(async (id) => { await (await (globalThis as any).lightcafe.peer.rawCafeFetch(id, new Request('http://cafe/cafe/v1/info'))).arrayBuffer() }, cafeId)
    const first = await deliverAll(senders[0], await envelopes(250))
    const deliverRate = first.statuses.filter(x => x === 202).length / (first.ms / 1000)
    const batched = await deliverBatched(senders[1], await envelopes(250))
    const batchedRate = batched.stored / (batched.ms / 1000)
    for (const p of senders.slice(2)) await deliverBatched(p, await envelopes(250))
    const t0 = Date.now()
    bob = await Peer.openPersistent(env, 'bob', profileDir)
    await bob.page.waitForFunction(async () => { const m = (globalThis as any).lightcafe?.peer?.messages; return m != null && (await m.count()) >= 1000 }, null, { timeout: 120_000, polling: 5 })
    const drainedAt = await bob.page.evaluate(() => ({ now: performance.now(), readyMs: (globalThis as any).lightcafe.timings.readyMs as number }))
    const idb = await rawIdbLimits()
    figures.inboxDeliverPersistPerSec = round(deliverRate)
    figures.inboxDeliverPersistBatchedPerSec = round(batchedRate)
    ratios.inboxDeliverVsRawIdbSmallRecords = round(deliverRate / idb.idbSmallRecordsPerSec, 3)
    ratios.inboxDeliverBatchedVsRawIdbSmallRecords = round(batchedRate / idb.idbSmallRecordsPerSec, 3)
    ratios.inboxDeliverBatchedVsRawIdbBatchedRecords = round(batchedRate / idb.idbSmallRecordsBatchedPerSec, 3)
    figures.inboxDrain1000Seconds = { fromProfileOpen: round((Date.now() - t0) / 1000, 2), fromNavigation: round(drainedAt.now / 1000, 2), fromNodeReady: round((drainedAt.now - drainedAt.readyMs) / 1000, 2), nodeReadySeconds: round(drainedAt.readyMs / 1000, 2) }
    const pushMs: number[] = []
    for (let i = 0; i < 10; i++) {
      const [body] = await envelopes(1)
      const before = await bob.page.evaluate(async () => (await (await fetch('/api/v0/messages/status')).json()).received as number)
      const t = Date.now()
      await deliverAll(fresh, [body])
      await bob.page.waitForFunction(async (n) => (await (globalThis as any).lightcafe.peer.messages.count()) > n, before, { timeout: 20_000, polling: 5 })
      pushMs.push(Date.now() - t)
    }
    figures.inboxPushLatencyMs = { median: median(pushMs), max: Math.max(...pushMs) }
    await bob.close()
  }

  // Search: latency of a network-wide query from a peer registered nowhere, across 3 and then
  // 6 cafes (each holding a few signed contacts); then one cafe holding 10,000 contacts.
  if (want('search')) {
    const searchCafes: Peer[] = [cafe]
    const addCafes = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) {
        const p = await Peer.open(browser, env, `search-cafe-${searchCafes.length}`)
        opened.push(p)
        await makeCafe(p)
        searchCafes.push(p)
        const people = Array.from({ length: 5 }, (_, j) => {
          const a = accountFromMnemonic(newMnemonic())
          return signContact(a, { name: `User ${searchCafes.length}-${j}`, peers: [], inboxes: [], box: toBase64url(boxKeyPair(a.secretKey).publicKey) })
        })
        await p.page.evaluate((cs) => { for (const c of cs) (globalThis as any).lightcafe.peer.contactIndex.upsert(c) }, people)
      }
    }
    // 20 queries in a row; the first is streamed, so the time each cafe's answer took shows
    // where a cold query waits (its first dial to each cafe).
    type QueryFigures = { p50: number, p95: number, answered: number, firstMs: number, firstPerCafeMs: number[], allMs: number[] }
    const queryLatency = async (from: Peer = fresh): Promise<QueryFigures> => {
      const runs = await from.page.evaluate(async () => {
        const out: Array<{ ms: number, answered: number, perCafe?: number[] }> = []
        for (let i = 0; i < 20; i++) {
          const t = performance.now()
          if (i === 0) {
            const res = await fetch('/api/v0/search?name=user&wait=5000&stream=1')
            const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
            const perCafe: number[] = []
            let text = ''
            let done: any
            while (done == null) {
              const { value, done: end } = await reader.read()
              if (end) break
              text += value
              let nl
              while ((nl = text.indexOf('\n')) >= 0) {
                const line = JSON.parse(text.slice(0, nl))
                text = text.slice(nl + 1)
                if (line.done === true) done = line
                else perCafe.push(Math.round(performance.now() - t))
              }
            }
            out.push({ ms: performance.now() - t, answered: done?.answered?.length ?? 0, perCafe })
          } else {
            const body = await (await fetch('/api/v0/search?name=user&wait=5000')).json()
            out.push({ ms: performance.now() - t, answered: body.answered.length })
          }
        }
        return out
      })
      const ms = runs.map(r => r.ms).sort((a, b) => a - b)
      return {
        p50: round(ms[Math.floor(ms.length / 2)]),
        // The 19th of 20: with one cold query in 20, this is the cold one.
        p95: round(ms[Math.floor(ms.length * 0.95)]),
        answered: Math.min(...runs.map(r => r.answered)),
        firstMs: round(runs[0].ms),
        firstPerCafeMs: runs[0].perCafe ?? [],
        allMs: runs.map(r => Math.round(r.ms))
      }
    }
    await addCafes(2)
    const q3 = await queryLatency()
    await addCafes(3)
    const q6 = await queryLatency()
    // A peer that has talked to none of the 6 cafes yet.
    const q6fresh = await queryLatency(await (async () => { const p = await Peer.open(browser, env, 'search-fresh'); opened.push(p); return p })())
    // Another fresh peer that opens the search box first (the view warms its dials, POST
    // /api/v0/search/warm) and queries once that is done: what a user who types a name sees.
    const boxPeer = await Peer.open(browser, env, 'search-box')
    opened.push(boxPeer)
    const warm = await boxPeer.page.evaluate(async () => {
      const t = performance.now()
      const body = await (await fetch('/api/v0/search/warm', { method: 'POST' })).json()
      return { ms: performance.now() - t, ...body }
    })
    const q6box = { warmMs: round(warm.ms), warmReached: `${warm.reached as number} of ${warm.cafes as number}`, ...await queryLatency(boxPeer) }
    figures.searchLatencyMs = { cafes3: q3, cafes6: q6, cafes6FreshPeer: q6fresh, cafes6FreshPeerBoxOpenedFirst: q6box }
    figures.searchIndex10k = await searchCafes[1].page.evaluate(() => {
      const index = (globalThis as any).lightcafe.peer.contactIndex
      const words = ['ana', 'bert', 'chloe', 'dmitri', 'elif', 'farid', 'greta', 'hiro', 'ines', 'jonas', 'kemal', 'lena', 'mads', 'nora', 'omar', 'pia']
      const sample = index.search('user', 1)[0].contact
      const t = performance.now()
      for (let i = 0; i < 10_000; i++) {
        index.upsert({ ...sample, address: `z6Mk${i.toString(36).padStart(44, 'x')}`, name: `${words[i % 16]} ${words[(i * 7) % 16]}son ${i}`, updated: new Date(Date.now() + i).toISOString() })
      }
      const buildMs = performance.now() - t
      const queries = ['gre', 'hiro', 'jonasson', 'lnea', 'farid bert', 'pi', 'kemal', 'xyz']
      const q0 = performance.now()
      for (let r = 0; r < 25; r++) for (const q of queries) index.search(q, 20)
      return { contacts: index.size, buildMs: Math.round(buildMs), indexKiB: Math.round(index.indexBytes() / 1024), queryMs: Math.round((performance.now() - q0) / (25 * queries.length) * 100) / 100 }
    })
  }

  // How cost grows with the data a cafe holds (bench/scaling.ts).
  if (want('scaling')) {
    // A registered recipient that is offline: a connected one would be pushed each message and
    // acknowledge it itself while the table collects.
    const carol = await Peer.open(browser, env, 'scaling-recipient')
    const creg = await carol.api('POST', '/api/v0/cafes', { cafe: cafeId, token: await newToken(cafe) })
    if (creg.status !== 201) throw new Error(`carol's registration failed: ${JSON.stringify(creg.body)}`)
    const me = (await carol.api('PUT', '/api/v0/profile', { name: 'Scaling' })).body
    const recipient = { access: creg.body.access as string, peerId: (await carol.api('GET', '/api/v0/peer')).body.peerId as string }
    await carol.close()
    const sender = accountFromMnemonic(newMnemonic())
    const text = new Uint8Array(1024).fill(0x62)
    const inboxSizes = [100, 10_000, 100_000]
    const bodies = await Promise.all(inboxSizes.map(async () => Promise.all(Array.from({ length: 100 }, async () => JSON.stringify(await createEnvelope(sender, me, text))))))
    // Reported, not thrown: the other groups' figures of this run still print.
    figures.scaling = await Promise.resolve().then(async () => [
      ...await inboxScaling(cafe.page, inboxSizes, bodies, recipient),
      ...await pinScaling([{ clients: 100, perClient: 100 }, { clients: 100, perClient: 1000 }, { clients: 10, perClient: 10_000 }]),
      ...await contactScaling(cafe.page, [1000, 100_000])
    ]).catch((err: Error) => ({ error: err.message }))
  }

  // Raw limits of this browser in this run (those no group above needed yet, when asked for).
  if (want('raw')) { await rawIdbLimits(); await rawDc(); await rawStream() }
  figures.raw = raw
  figures.ratios = ratios
  for (const p of opened) await p.close()
} finally {
  await browser.close()
  await Promise.allSettled([env.stop(), blank.stop()])
}
// The headless Node cafe's figures (bench/node-cafe.ts, its own raw limits and ratios): its
// own process, after the browser is closed, so neither shares the cores with the other.
// What a check of a cafe costs per GiB it pins (bench/proof-cost.ts, issue 26), in its own process too.
if (want('proofs')) figures.proofs = await nodeCafeFigures('bench/proof-cost.ts')
if (want('node-cafe')) figures.nodeCafe = await nodeCafeFigures('bench/node-cafe.ts')
console.log(JSON.stringify(figures, null, 2))

/** Runs a Node bench script (it exits itself: libp2p and LevelDB leave handles open) and reads its JSON; bounded to 15 minutes. */
async function nodeCafeFigures (script: string): Promise<unknown> {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script], { timeout: 15 * 60_000, maxBuffer: 16 * 1024 * 1024 })
    return JSON.parse(stdout)
  } catch (err) {
    return { error: (err as Error).message }
  }
}

/** The dashboard's front-end figures, each next to its raw limit from this run (kept apart so the figures above stay as they were). */
async function frontendFigures (loads: Timings[], appPaints: Paint[], blankPaints: Paint[]): Promise<Record<string, unknown>> {
  const ui = loads.filter(l => l.uiMs >= 0)
  const app = { firstPaintMs: medianOf(appPaints.map(p => p.firstPaintMs)), firstContentfulPaintMs: medianOf(appPaints.map(p => p.firstContentfulPaintMs)) }
  const raw = { firstPaintMs: medianOf(blankPaints.map(p => p.firstPaintMs)), firstContentfulPaintMs: medianOf(blankPaints.map(p => p.firstContentfulPaintMs)) }
  const ratio = (a: number | null, b: number | null): number | null => a == null || b == null || b === 0 ? null : round(a / b, 2)
  return {
    bundle,
    paint: {
      app: { ...app, all: appPaints },
      rawBlankPage: { ...raw, all: blankPaints },
      ratios: { firstPaintVsBlank: ratio(app.firstPaintMs, raw.firstPaintMs), firstContentfulPaintVsBlank: ratio(app.firstContentfulPaintMs, raw.firstContentfulPaintMs) }
    },
    timeToInteractive: {
      uiMsMedian: ui.length === 0 ? null : median(ui.map(l => l.uiMs)),
      readyMsMedian: median(loads.map(l => l.readyMs)),
      uiVsReadyMedian: ui.length === 0 ? null : round(median(ui.map(l => l.uiMs / l.readyMs)), 3),
      all: loads.map(l => ({ readyMs: l.readyMs, uiMs: l.uiMs })),
      timedOut: loads.length - ui.length
    },
    // A fresh profile of its own, so the observer is in place before the page's first script.
    layoutShift: await layoutShift(browser, env.web.url + '/'),
    // A profile set up as a cafe opens on the overview, whose sections fill in as data comes.
    layoutShiftOverview: await layoutShift(browser, env.web.url + '/', 5_000, 5, 'cafe')
  }
}
