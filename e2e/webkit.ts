import { execFileSync, spawn } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { copyFile, appendFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ChildProcess } from 'node:child_process'
import { apiFromPage } from './bridge-checks.ts'
import type { ApiResult } from './env.ts'
import { processTree } from './proc-memory.ts'

/**
 * WebKit, the engine of Safari and of every iOS browser: Debian's WebKitGTK (`MiniBrowser`)
 * driven by `WebKitWebDriver` (webkit2gtk-driver) over plain W3C WebDriver (HTTP + JSON; it
 * has no BiDi), each browser on an Xvfb display of its own. The dozen commands a test needs
 * are below; nothing is downloaded.
 */

/** WebKitGTK's MiniBrowser (libwebkit2gtk-4.1-0) under this machine's multiarch directory. */
function miniBrowser (): string {
  const lib = readdirSync('/usr/lib').filter(d => d.endsWith('-linux-gnu')).map(d => `/usr/lib/${d}/webkit2gtk-4.1/MiniBrowser`)
  return lib.find(p => existsSync(p)) ?? '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser'
}

export const WEBKIT = {
  driver: process.env.WEBKIT_DRIVER_PATH ?? '/usr/bin/WebKitWebDriver',
  minibrowser: process.env.WEBKIT_MINIBROWSER_PATH ?? miniBrowser(),
  xvfb: process.env.XVFB_PATH ?? '/usr/bin/Xvfb',
  /** WebKitGTK (GnuTLS) trusts this bundle, not a profile database. */
  systemBundle: '/etc/ssl/certs/ca-certificates.crt'
}

export interface WebKitOptions {
  /**
   * A CA the device's owner installed: added to a copy of the system bundle that is
   * bind-mounted over it in a private mount namespace (`unshare -m`) holding the driver and its
   * browsers only. Certificate errors are never ignored.
   */
  caFile?: string
  /** WebKit runtime features to turn on (`MiniBrowser --features=`), e.g. StorageAPI. */
  features?: string[]
  timeoutMs?: number
}

/** The WebKitGTK package's version (Debian's), for the figures. */
export function webkitVersion (): string {
  try { return execFileSync('dpkg-query', ['-W', '-f=${Version}', 'libwebkit2gtk-4.1-0'], { encoding: 'utf8' }).trim() } catch { return 'unknown' }
}

const sleep = async (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

async function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port
      srv.close(() => { resolve(port) })
    })
  })
}

/** Ends a child process: SIGTERM, SIGKILL after `graceMs`; waits (bounded) for its exit. */
async function end (child: ChildProcess | undefined, graceMs = 5_000): Promise<void> {
  if (child == null || child.exitCode != null || child.signalCode != null) return
  const exited = new Promise<void>(resolve => child.once('exit', () => { resolve() }))
  child.kill('SIGTERM')
  const timer = setTimeout(() => { child.kill('SIGKILL') }, graceMs)
  await Promise.race([exited, sleep(graceMs + 5_000)])
  clearTimeout(timer)
}

/** Xvfb on a free display (it picks one and writes its number to `-displayfd`). */
async function startXvfb (timeoutMs: number): Promise<{ child: ChildProcess, display: string }> {
  const child = spawn(WEBKIT.xvfb, ['-displayfd', '1', '-screen', '0', '1280x900x24', '-nolisten', 'tcp'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let err = ''
  child.stderr?.on('data', (b: Buffer) => { err += b.toString() })
  const display = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`Xvfb gave no display in ${timeoutMs} ms: ${err}`)) }, timeoutMs)
    child.once('exit', code => { clearTimeout(timer); reject(new Error(`Xvfb exited with ${code}: ${err}`)) })
    child.stdout?.once('data', (b: Buffer) => { clearTimeout(timer); resolve(`:${b.toString().trim()}`) })
  }).catch(async e => { await end(child); throw e })
  return { child, display }
}

interface WebDriverError { error: string, message: string }

/** One WebKit browser (one WebDriver session, its own Xvfb, HOME and trust store). */
export class WebKitBrowser {
  readonly #root: string
  readonly #url: string
  readonly #xvfb: ChildProcess
  readonly #driver: ChildProcess
  #log: string
  readonly #timeoutMs: number

  private constructor (root: string, url: string, xvfb: ChildProcess, driver: ChildProcess, timeoutMs: number) {
    this.#root = root
    this.#url = url
    this.#xvfb = xvfb
    this.#driver = driver
    this.#log = ''
    this.#timeoutMs = timeoutMs
    driver.stderr?.on('data', (b: Buffer) => { this.#log = (this.#log + b.toString()).slice(-20_000) })
  }

  static async launch ({ caFile, features = [], timeoutMs = 60_000 }: WebKitOptions = {}): Promise<WebKitBrowser> {
    for (const p of [WEBKIT.driver, WEBKIT.minibrowser, WEBKIT.xvfb]) {
      if (!existsSync(p)) throw new Error(`${p} is missing: install Debian's webkit2gtk-driver and xvfb (scripts/ensure-deps.sh --browsers)`)
    }
    const root = await mkdtemp(join(tmpdir(), 'lightcafe-webkit-'))
    const home = join(root, 'home')
    await mkdir(home)
    let xvfb: ChildProcess | undefined
    let driver: ChildProcess | undefined
    try {
      const x = await startXvfb(timeoutMs)
      xvfb = x.child
      const display = x.display
      const port = await freePort()
      const env = { ...process.env, DISPLAY: display, HOME: home, XDG_CACHE_HOME: join(home, '.cache'), XDG_CONFIG_HOME: join(home, '.config'), XDG_DATA_HOME: join(home, '.local', 'share'), XDG_RUNTIME_DIR: home }
      const args = [`--port=${port}`]
      if (caFile != null) {
        // The bundle a device owner's "install this CA" would write, seen by this driver and its
        // browsers only: a private mount namespace, the copy bind-mounted over the system file.
        const bundle = join(root, 'ca-certificates.crt')
        await copyFile(WEBKIT.systemBundle, bundle)
        await appendFile(bundle, '\n' + await readFile(caFile, 'utf8'))
        driver = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', 'mount --bind "$1" "$2" && exec "$3" "$4"', 'sh', bundle, WEBKIT.systemBundle, WEBKIT.driver, args[0]], { env, stdio: ['ignore', 'ignore', 'pipe'] })
      } else {
        driver = spawn(WEBKIT.driver, args, { env, stdio: ['ignore', 'ignore', 'pipe'] })
      }
      const url = `http://127.0.0.1:${port}`
      const browser = new WebKitBrowser(root, url, xvfb, driver, timeoutMs)
      await browser.#startSession(features)
      return browser
    } catch (err) {
      await end(driver)
      await end(xvfb)
      await rm(root, { recursive: true, force: true })
      throw err
    }
  }

  #session = ''

  async #startSession (features: string[]): Promise<void> {
    const end = Date.now() + this.#timeoutMs
    // The driver takes a moment to listen.
    for (;;) {
      try {
        const res = await fetch(`${this.#url}/status`, { signal: AbortSignal.timeout(2_000) })
        if (res.ok) break
      } catch { /* not listening yet */ }
      if (this.#driver.exitCode != null) throw new Error(`WebKitWebDriver exited: ${this.#log}`)
      if (Date.now() > end) throw new Error(`WebKitWebDriver did not listen in time: ${this.#log}`)
      await sleep(100)
    }
    const args = ['--automation', ...(features.length > 0 ? [`--features=${features.join(',')}`] : [])]
    const value = await this.#call<{ sessionId: string }>('POST', '/session', {
      capabilities: {
        alwaysMatch: {
          'webkitgtk:browserOptions': { binary: WEBKIT.minibrowser, args },
          timeouts: { script: this.#timeoutMs, pageLoad: this.#timeoutMs, implicit: 0 }
        }
      }
    })
    this.#session = value.sessionId
  }

  async #call<T = unknown> (method: string, path: string, body?: unknown, timeoutMs = this.#timeoutMs + 10_000): Promise<T> {
    const res = await fetch(`${this.#url}${path}`, {
      method,
      headers: body != null ? { 'content-type': 'application/json; charset=utf-8' } : {},
      ...(body != null ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(timeoutMs)
    })
    const parsed = await res.json().catch(() => ({})) as { value?: unknown }
    if (!res.ok) {
      const e = parsed.value as WebDriverError | undefined
      throw new Error(`WebDriver ${method} ${path}: ${res.status} ${e?.error ?? ''}: ${e?.message ?? JSON.stringify(parsed)}`)
    }
    return parsed.value as T
  }

  #s (path = ''): string { return `/session/${this.#session}${path}` }

  /** The ids of the driver and every process under it (MiniBrowser, its web, network and service worker processes). */
  async pids (): Promise<number[]> {
    const root = this.#driver.pid
    return root == null ? [] : processTree(root)
  }

  async navigate (url: string): Promise<void> { await this.#call('POST', this.#s('/url'), { url }) }

  async currentUrl (): Promise<string> { return this.#call<string>('GET', this.#s('/url')) }

  /**
   * Runs `fn` (an async function's source or value, run in the page) with JSON `args` and
   * returns its JSON result; a rejection becomes an Error here with its message.
   */
  async run<T = any, A extends unknown[] = unknown[]> (fn: ((...args: A) => Promise<T> | T) | string, ...args: A): Promise<T> {
    const source = typeof fn === 'string' ? fn : fn.toString()
    // `__name`: what tsx's transform may leave in a function's source (see e2e/env.ts).
    const script = `globalThis.__name ??= (f) => f; const done = arguments[arguments.length - 1];
      Promise.resolve().then(() => (${source}).apply(null, Array.prototype.slice.call(arguments, 0, -1)))
        .then(v => done({ ok: v === undefined ? null : v }), e => done({ err: String(e && e.name ? e.name + ': ' + e.message : e) }))`
    const out = await this.#call<{ ok?: T, err?: string }>('POST', this.#s('/execute/async'), { script, args })
    if (out?.err != null) throw new Error(`in WebKit: ${out.err}`)
    return out?.ok as T
  }

  /** Polls `fn` in the page until it returns true (bounded). */
  async waitFor (fn: string, timeoutMs = 30_000, what = fn): Promise<void> {
    const end = Date.now() + timeoutMs
    let last: unknown
    for (;;) {
      try {
        if (await this.run(`async () => Boolean(${fn})`) === true) return
      } catch (err) { last = err } // between two pages (a reload): no page to run in
      if (Date.now() > end) {
        // What the page shows and its start-up state: a failure says where the page stopped.
        const seen = await this.run(`() => JSON.stringify({ url: location.href, text: document.body?.innerText.slice(0, 600), state: globalThis.lightcafe == null ? null : { ready: globalThis.lightcafe.ready, timings: globalThis.lightcafe.timings, swError: globalThis.lightcafe.swError }, controller: navigator.serviceWorker?.controller != null })`).catch((err: unknown) => String(err))
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last != null ? ` (last error: ${String(last)})` : ''}; the page: ${String(seen)}`)
      }
      await sleep(100)
    }
  }

  /** Clicks the element `css` matches, as a person's tap would (a trusted event, a user gesture). */
  async click (css: string): Promise<void> {
    const el = await this.#call<Record<string, string>>('POST', this.#s('/element'), { using: 'css selector', value: css })
    const id = Object.values(el)[0]
    await this.#call('POST', this.#s(`/element/${id}/click`), {})
  }

  /** Ends the session, the driver and Xvfb; removes HOME and the bundle copy. */
  async close (): Promise<void> {
    if (this.#session !== '') await this.#call('DELETE', this.#s(), undefined, 15_000).catch(() => {})
    await end(this.#driver)
    await end(this.#xvfb)
    await rm(this.#root, { recursive: true, force: true, maxRetries: 3 })
  }
}

/** The app in a WebKit page: one peer. */
export class WebKitPeer {
  readonly name: string
  readonly browser: WebKitBrowser
  constructor (name: string, browser: WebKitBrowser) { this.name = name; this.browser = browser }

  /** Opens `url` and waits until the node is up and the service worker controls the page. */
  static async open (browser: WebKitBrowser, name: string, url: string, timeoutMs = 45_000): Promise<WebKitPeer> {
    const peer = new WebKitPeer(name, browser)
    await browser.navigate(url)
    await peer.ready(timeoutMs)
    return peer
  }

  async ready (timeoutMs = 45_000): Promise<void> {
    await this.browser.waitFor('globalThis.lightcafe?.ready === true && navigator.serviceWorker.controller != null', timeoutMs, `${this.name} ready`)
  }

  /** Calls the local API the way a same-origin app does: fetch through the service worker. */
  async api<T = any> (method: string, path: string, body?: unknown): Promise<ApiResult<T>> {
    return this.browser.run(apiFromPage, { method, path, body })
  }
}
