import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test as base, expect } from '@playwright/test'
import { Env, Peer } from './env.ts'
import type { PeerOptions } from './env.ts'

export { expect, Env, Peer }
export type { PeerOptions }

export const test = base.extend<{ peers: (name: string, opts?: PeerOptions) => Promise<Peer>, profiles: (name: string) => Promise<Peer> }, { env: Env }>({
  env: [async ({}, use) => {
    const env = new Env(await mkdtemp(join(tmpdir(), 'lightcafe-e2e-')))
    await env.start()
    await use(env)
    await env.stop()
  }, { scope: 'worker' }],
  peers: async ({ browser, env }, use) => {
    const opened: Peer[] = []
    await use(async (name, opts) => {
      const p = await Peer.open(browser, env, name, env.web.url, opts)
      opened.push(p)
      return p
    })
    await Promise.allSettled(opened.map(async p => { await p.close() }))
  },
  // Peers on on-disk profiles (own browser process): the same name reopens the same profile.
  profiles: async ({ env }, use) => {
    const root = await mkdtemp(join(tmpdir(), 'lightcafe-profiles-'))
    const opened: Peer[] = []
    await use(async (name) => {
      const p = await Peer.openPersistent(env, name, join(root, name))
      opened.push(p)
      return p
    })
    await Promise.allSettled(opened.map(async p => { await p.close() }))
    await rm(root, { recursive: true, force: true })
  }
})
