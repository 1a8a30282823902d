import { describe, expect, it } from 'vitest'
import { stub } from '../../test/fixtures/stub.ts'
import { fetchName } from './cafe-names.ts'
import type { RunningPeer } from '../peer/index.ts'

/** A "cafe" (any peer an invitation names) answering /info with a body that never ends. */
function endlessInfo (): { peer: RunningPeer, pulled: () => number } {
  let pulled = 0
  const chunk = new TextEncoder().encode(`{"name":"${'x'.repeat(64 * 1024)}`)
  const peer = stub<RunningPeer>({
    rawCafeFetch: async () => new Response(new ReadableStream<Uint8Array>({
      pull (controller) { pulled += chunk.byteLength; controller.enqueue(chunk) }
    }), { headers: { 'content-type': 'application/json' } })
  })
  return { peer, pulled: () => pulled }
}

describe("a cafe's name from its /info", () => {
  it('stops reading an endless /info at its cap and gives no name [issue 24]', async () => {
    const { peer, pulled } = endlessInfo()
    const outcome = await Promise.race([
      fetchName(peer, '12D3KooWhostile').then(name => ({ name })),
      new Promise(resolve => setTimeout(() => { resolve('still reading after 5 s') }, 5_000))
    ])
    // Before: the page buffered it until the 20 s timeout (+210 to +460 MiB).
    console.log(`endless /info: ${(pulled() / 1024).toFixed(0)} KiB read`)
    expect(outcome).toEqual({ name: undefined })
    expect(pulled()).toBeLessThanOrEqual(16 * 1024 + 2 * (64 * 1024 + 16))
  }, 10_000)
})
