import { rm } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { startStaticServer } from '../relay/static-server.ts'
import { spawnRelay } from './relay-process.ts'
import type { StaticServer } from '../relay/static-server.ts'
import type { RelayProcess } from './relay-process.ts'
import { chromium } from 'playwright-core'
import { chromiumLaunchOptions } from './chromium.ts'
import type { Browser, BrowserContext, Page } from 'playwright-core'

/** One relay process and the built app, shared by the tests of a worker. The relay can be restarted on its port with its key. */
export class Env {
  relay!: RelayProcess
  web!: StaticServer
  readonly #dir: string
  constructor (dir: string) { this.#dir = dir }

  async start (): Promise<void> {
    this.relay = await spawnRelay({ keyFile: join(this.#dir, 'relay.key') })
    this.web = await startStaticServer({ root: resolve('dist'), port: 0, relays: () => this.relay.multiaddrs })
  }

  async restartRelay (downMs = 0): Promise<void> {
    await this.stopRelay()
    if (downMs > 0) await new Promise(resolve => setTimeout(resolve, downMs))
    await this.startRelay()
  }

  /** Stops the relay; `startRelay` brings it back on the same port with the same key. */
  async stopRelay (): Promise<void> { await this.relay.stop() }

  async startRelay (): Promise<void> {
    this.relay = await spawnRelay({ port: this.relay.port, keyFile: join(this.#dir, 'relay.key') })
  }

  async stop (): Promise<void> {
    await Promise.allSettled([this.relay?.stop(), this.web?.stop()])
    await rm(this.#dir, { recursive: true, force: true })
  }
}

export interface ApiResult<T = any> { status: number, body: T }

export interface PeerOptions {
  /**
   * What the device is for, as its first run would store it (see src/ui/role.ts). By default
   * 'all' ("just use it": every view), so tests that drive the API are not met by the first-run
   * question; `null` opens a fresh profile that is asked.
   */
  role?: 'cafe' | 'guest' | 'all' | null
  /** The first address opened (an invitation link); default the app's root. */
  url?: string
}

/** Options of the peers `Peer.open` starts, by context (other ways in start with the defaults). */
const optionsOf = new WeakMap<BrowserContext, PeerOptions>()

/** A browser context running the app: one peer. */
export class Peer {
  readonly name: string
  readonly context: BrowserContext
  page: Page
  readonly #url: string

  private constructor (name: string, context: BrowserContext, page: Page, url: string) {
    this.name = name
    this.context = context
    this.page = page
    this.#url = url
  }

  /** A peer in a fresh incognito context; `origin` serves the app (default: the env's server). */
  static async open (browser: Browser, env: Env, name: string, origin = env.web.url, opts: PeerOptions = {}): Promise<Peer> {
    const context = await browser.newContext()
    optionsOf.set(context, opts)
    return Peer.#start(context, origin, name)
  }

  /**
   * A peer whose profile lives on disk in `dir`, in its own browser process: `close()` ends
   * the process (the node stops as a closed browser's would) and opening the same `dir`
   * again resumes the profile with everything it kept.
   */
  static async openPersistent (env: Env, name: string, dir: string): Promise<Peer> {
    const context = await chromium.launchPersistentContext(dir, chromiumLaunchOptions())
    return Peer.#start(context, env.web.url, name)
  }

  /** A peer in a context opened elsewhere (e.g. a profile with its own HOME and trust store), on `origin`. */
  static async attach (context: BrowserContext, name: string, origin: string): Promise<Peer> {
    return Peer.#start(context, origin, name)
  }

  static async #start (context: BrowserContext, origin: string, name: string): Promise<Peer> {
    // Code run through tsx (the bench) keeps function names with an `__name` helper that
    // page.evaluate ships to the page without its definition; give the page a no-op one.
    await context.addInitScript('globalThis.__name ??= (f) => f')
    const opts = optionsOf.get(context) ?? {}
    // The first-run answer, unless the test opens a fresh profile (a choice already stored stays).
    const role = opts.role === undefined ? 'all' : opts.role
    if (role != null) await context.addInitScript(r => { if (localStorage.getItem('lightcafe.role') == null) localStorage.setItem('lightcafe.role', r) }, role)
    const page = context.pages()[0] ?? await context.newPage()
    const peer = new Peer(name, context, page, origin + '/')
    page.on('pageerror', err => { console.log(`[${name}] pageerror: ${err.message}`) })
    page.on('console', msg => { if (msg.type() === 'error') console.log(`[${name}] console: ${msg.text().slice(0, 500)}`) })
    await page.goto(opts.url ?? peer.#url)
    await peer.ready()
    return peer
  }

  /** The node is up and the service worker controls the page (API calls reach the node). */
  async ready (timeout = 30_000): Promise<void> {
    await this.page.waitForFunction(() => (globalThis as any).lightcafe?.ready === true && navigator.serviceWorker.controller != null, null, { timeout })
  }

  /** Reachable by other peers: a relay holds this page's reservation (ready comes sooner: the node is up before the relay answers). */
  async reachable (timeout = 30_000): Promise<void> {
    await this.page.waitForFunction(() => (globalThis as any).lightcafe?.timings?.reservedMs >= 0, null, { timeout })
  }

  async reload (): Promise<void> {
    await this.page.reload()
    await this.ready()
  }

  /** Calls the local API (or the cafe API) the way a same-origin app does: fetch through the service worker. */
  async api<T = any> (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResult<T>> {
    return this.page.evaluate(async ({ method, path, body, headers }) => {
      const init: RequestInit = { method, headers: { ...headers } }
      if (body !== undefined) {
        init.body = typeof body === 'string' ? body : JSON.stringify(body)
        ;(init.headers as Record<string, string>)['content-type'] ??= 'application/json'
      }
      const res = await fetch(path, init)
      const text = await res.text()
      let parsed: unknown = text
      try { parsed = text === '' ? null : JSON.parse(text) } catch {}
      return { status: res.status, body: parsed as any }
    }, { method, path, body, headers })
  }

  async close (): Promise<void> { await this.context.close() }
}
