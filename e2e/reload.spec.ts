import { expect, test } from './fixtures.ts'
import { makeCafe, newToken, webrtcAddr } from './helpers.ts'
import type { ApiResult, Peer } from './env.ts'

/**
 * Peers that reload or vanish. Their old WebRTC connections look open to others for a while
 * (ICE gives up after ~30 s); whoever holds one must still reach the peer as soon as it is back.
 */

// A bound on each call, not a figure: the issue asks for the reloaded peer within 2 s of its ready.
const CALL_BOUND_MS = 5_000

async function within<T> (ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const bound = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`${what}: no answer within ${ms} ms`)) }, ms) })
  try { return await Promise.race([p, bound]) } finally { clearTimeout(timer) }
}

/** This peer's connections to `peerId`, for the log when a call fails. */
async function connectionsTo (peer: Peer, peerId: string): Promise<unknown> {
  return peer.page.evaluate((id) => (globalThis as any).lightcafe.peer.node.libp2p.getConnections()
    .filter((c: any) => c.remotePeer.toString() === id)
    .map((c: any) => ({ addr: c.remoteAddr.toString().slice(-80), status: c.status, limited: c.limits != null, ageMs: Date.now() - c.timeline.open })), peerId)
}

function ok (res: ApiResult, status: number, what: string, conns: unknown): void {
  expect(res.status, `${what}: ${JSON.stringify(res.body)} (connections before: ${JSON.stringify(conns)})`).toBe(status)
}

async function timed<T> (p: Promise<T>): Promise<{ res: T, ms: number }> {
  const t0 = Date.now()
  const res = await p
  return { res, ms: Date.now() - t0 }
}

const p50 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]

test('a cafe that reloads five times in a row is reached by its old clients right after each reload', async ({ peers }) => {
  test.setTimeout(300_000)
  const cafe = await peers('cafe')
  const { peerId } = await makeCafe(cafe)
  const alice = await peers('alice')
  const bob = await peers('bob')
  ok(await alice.api('POST', '/api/v0/cafes', { cafe: peerId, token: await newToken(cafe) }), 201, 'alice registers', [])
  ok(await bob.api('POST', '/api/v0/cafes', { cafe: peerId, token: await newToken(cafe) }), 201, 'bob registers', [])

  const times: number[] = []
  for (let round = 1; round <= 5; round++) {
    await cafe.reload()
    await webrtcAddr(cafe) // ready: its relay reservation is back
    const token = await newToken(cafe)
    const before = { alice: await connectionsTo(alice, peerId), bob: await connectionsTo(bob, peerId) }
    // Alice calls her cafe (collects her inbox); Bob registers again with a new token.
    const [collected, registered] = await Promise.all([
      timed(alice.api('POST', '/api/v0/cafes/messages')),
      timed(bob.api('POST', '/api/v0/cafes', { cafe: peerId, token }))
    ])
    times.push(Math.max(collected.ms, registered.ms))
    console.log(`reload round ${round}: alice ${collected.ms} ms (${collected.res.status}), bob ${registered.ms} ms (${registered.res.status}); connections before ${JSON.stringify(before)}`)
    expect.soft(collected.res.status, `round ${round}: alice's call: ${JSON.stringify(collected.res.body)}`).toBe(200)
    expect.soft(registered.res.status, `round ${round}: bob's registration: ${JSON.stringify(registered.res.body)}`).toBe(201)
    expect.soft(collected.ms, `round ${round}: alice's call`).toBeLessThanOrEqual(CALL_BOUND_MS)
    expect.soft(registered.ms, `round ${round}: bob's registration`).toBeLessThanOrEqual(CALL_BOUND_MS)
  }
  console.log(`reload: time to reach the reloaded cafe after its ready, ms: ${JSON.stringify(times)}; p50 ${p50(times)}, max ${Math.max(...times)}`)
})

test('a cafe killed while a request is in flight: the client gets a named error, not a hang, and reaches it again when it is back', async ({ peers, profiles }) => {
  test.setTimeout(180_000)
  let cafe = await profiles('cafe')
  const { peerId } = await makeCafe(cafe)
  const client = await peers('client')
  ok(await client.api('POST', '/api/v0/cafes', { cafe: peerId, token: await newToken(cafe) }), 201, 'registers', [])
  ok(await client.api('POST', '/api/v0/cafes/messages'), 200, 'first call', [])

  // The cafe's tab is busy (its answer will not come), then its browser is killed.
  void cafe.page.evaluate(() => { const end = Date.now() + 30_000; while (Date.now() < end) { /* busy */ } }).catch(() => {})
  await new Promise(resolve => setTimeout(resolve, 200))
  const inFlight = client.api('POST', '/api/v0/cafes/messages')
  await new Promise(resolve => setTimeout(resolve, 500))
  const t0 = Date.now()
  await cafe.close()
  console.log(`kill: the cafe's browser closed in ${Date.now() - t0} ms`)
  // Within a bound well under the client's 20 s request timeout: not a hang.
  const failed = await within(15_000, 'the call in flight to the killed cafe', inFlight)
  console.log(`kill: the call in flight ended ${Date.now() - t0} ms after the kill: ${JSON.stringify(failed)}`)
  expect(failed.status).toBe(503)
  expect(failed.body.error.reason).toBe('CAFE_UNREACHABLE')
  // Named for what happened (the peer went away), not for a timer that ran out, never `undefined`.
  expect(failed.body.error.details).toContain(peerId)
  expect(failed.body.error.details).not.toMatch(/undefined|timed out/)

  // Back on the same profile (same peer id): reached at once.
  cafe = await profiles('cafe')
  await webrtcAddr(cafe)
  const before = await connectionsTo(client, peerId)
  const t1 = Date.now()
  const again = await within(CALL_BOUND_MS, 'the call to the cafe that came back', client.api('POST', '/api/v0/cafes/messages'))
  console.log(`kill: reached the cafe that came back in ${Date.now() - t1} ms`)
  ok(again, 200, 'the call to the cafe that came back', before)
})
