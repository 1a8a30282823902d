import { test as base } from './fixtures.ts'
import { spawnNodeCafe } from './node-cafe-process.ts'
import type { NodeCafeProcess } from './node-cafe-process.ts'

export { expect } from './fixtures.ts'

/** The fixtures plus one Node cafe (`npm run cafe`, a real process) shared by the worker's tests. */
export const test = base.extend<{}, { nodeCafe: NodeCafeProcess }>({
  nodeCafe: [async ({ env }, use) => {
    const cafe = await spawnNodeCafe(env.relay.multiaddrs)
    await use(cafe)
    await cafe.stop()
  }, { scope: 'worker' }]
})
