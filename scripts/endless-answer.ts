// Figure for issue 12 item 1: what an asker holds when a peer answers with an endless body.
// A hostile server streams 64 KiB chunks forever; the asker reads its answer as a search
// answer is read (deadline 2 s). Prints bytes the asker received and its peak memory after 8 s.
//   node --import tsx scripts/endless-answer.ts [json|bounded]
import '../relay/polyfill.ts'
import { httpOverLibp2p } from '../src/node/http/index.ts'
import { tcpTestNode } from '../test/fixtures/tcp-node.ts'

const mode = process.argv[2] ?? 'json'
const server = await tcpTestNode(true, { http: httpOverLibp2p() })
const client = await tcpTestNode(false, { http: httpOverLibp2p() })
let produced = 0
await server.services.http.serve(async () => new Response(new ReadableStream<Uint8Array>({
  pull (c) { produced += 65536; c.enqueue(new Uint8Array(65536).fill(0x20)) }
}, { highWaterMark: 0 }), { headers: { 'content-type': 'application/json' } }))

let peak = 0
const sample = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss) }, 50)
const base = process.memoryUsage().rss
const started = Date.now()
const signal = AbortSignal.timeout(2_000)
const outcome = (async () => {
  const res = await client.services.http.fetch(server.getMultiaddrs()[0], new Request('http://x/cafe/v1/search', { method: 'POST', body: '{}' }), { signal })
  if (mode === 'json') return await res.json()
  const { readJson } = await import('../src/shared/streams.ts') as any
  return await readJson(res, { maxBytes: 1024 * 1024, signal })
})()
const result = await Promise.race([outcome.then(() => 'answered', (e: Error) => `refused: ${e.name} ${(e as any).reason ?? e.message}`), new Promise(resolve => setTimeout(() => resolve('still reading after 8 s'), 8_000))])
clearInterval(sample)
console.log(JSON.stringify({ mode, result, ms: Date.now() - started, serverProducedMiB: +(produced / 2 ** 20).toFixed(1), peakRssGrowthMiB: +((peak - base) / 2 ** 20).toFixed(1) }))
await Promise.race([Promise.all([client.stop(), server.stop()]), new Promise(resolve => setTimeout(resolve, 2_000))])
process.exit(0)
