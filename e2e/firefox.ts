import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import puppeteer from 'puppeteer-core'
import type { Browser, Page } from 'puppeteer-core'
import { apiFromPage } from './bridge-checks.ts'
import type { ApiResult } from './env.ts'
import { trustingNssDb } from './lan-device.ts'

/**
 * Debian's Firefox ESR, driven over WebDriver BiDi by puppeteer-core (which downloads no
 * browser). Playwright's own BiDi Firefox channel (`moz-firefox`) is not usable with it:
 * Playwright 1.65 sends `emulation.setMediaFeaturesOverride` when it opens any context, and
 * Firefox 153 ESR answers "unknown command".
 */
export function firefoxPath (): string {
  const path = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr'
  if (!existsSync(path)) throw new Error(`Firefox not found at ${path}; install Debian's firefox-esr or set FIREFOX_PATH`)
  return path
}

/** Preferences that make a stock Firefox a quiet test client that can do WebRTC between local peers. */
export const FIREFOX_PREFS: Record<string, string | number | boolean> = {
  // Host candidates as real addresses: an mDNS name would need a responder on this machine.
  'media.peerconnection.ice.obfuscate_host_addresses': false,
  // Nothing from the profile dials the (closed) internet: telemetry, updates, remote
  // settings, push, captive portal and connectivity checks, safe browsing, prefetches.
  'toolkit.telemetry.enabled': false,
  'toolkit.telemetry.unified': false,
  'toolkit.telemetry.archive.enabled': false,
  'toolkit.telemetry.server': '',
  'datareporting.usage.uploadEnabled': false,
  'app.update.enabled': false,
  'app.update.auto': false,
  'app.shield.optoutstudies.enabled': false,
  'app.normandy.enabled': false,
  'browser.ping-centre.telemetry': false,
  'browser.newtabpage.activity-stream.feeds.telemetry': false,
  'browser.newtabpage.activity-stream.telemetry': false,
  'browser.region.network.url': '',
  'browser.region.update.enabled': false,
  'browser.search.geoip.url': '',
  'browser.safebrowsing.provider.mozilla.updateURL': '',
  'browser.safebrowsing.provider.google4.updateURL': '',
  'extensions.blocklist.enabled': false,
  'extensions.systemAddon.update.enabled': false,
  'dom.push.connection.enabled': false,
  'dom.push.serverURL': '',
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'network.dns.disablePrefetch': true,
  'network.prefetch-next': false,
  'network.predictor.enabled': false,
  'network.trr.mode': 5,
  'captivedetect.canonicalURL': '',
  'services.sync.enabled': false,
  'identity.fxaccounts.enabled': false,
  'media.gmp-gmpopenh264.enabled': false,
  'media.gmp-gmpopenh264.autoupdate': false,
  'browser.discovery.enabled': false,
  'messaging-system.rsexperimentloader.enabled': false,
  // Remote settings (blocklists, certificates, suggestions): honoured with
  // MOZ_REMOTE_SETTINGS_DEVTOOLS=1 only; a closed loopback port, so not even a DNS lookup.
  'services.settings.server': 'http://127.0.0.1:9/v1'
}

/** Firefox ESR headless on its own profile and HOME (both removed by `close`). */
export class FirefoxBrowser {
  readonly browser: Browser
  readonly #root: string
  private constructor (browser: Browser, root: string) { this.browser = browser; this.#root = root }

  /**
   * `prefs` are added to (or override) FIREFOX_PREFS. With `caFile`, the profile's own NSS
   * database (`cert9.db`, where Firefox keeps the CAs its owner imported) trusts that CA to
   * identify web sites before Firefox first starts; certificate errors are never ignored.
   */
  static async launch ({ prefs = {}, caFile, timeoutMs = 60_000 }: { prefs?: Record<string, string | number | boolean>, caFile?: string, timeoutMs?: number } = {}): Promise<FirefoxBrowser> {
    const root = await mkdtemp(join(tmpdir(), 'lightcafe-firefox-'))
    const home = join(root, 'home')
    await mkdir(home)
    try {
      if (caFile != null) await trustingNssDb(join(root, 'profile'), caFile)
      const browser = await puppeteer.launch({
        browser: 'firefox',
        protocol: 'webDriverBiDi',
        executablePath: firefoxPath(),
        headless: true,
        userDataDir: join(root, 'profile'),
        extraPrefsFirefox: { ...FIREFOX_PREFS, ...prefs },
        // Firefox as root refuses a HOME it does not own; a HOME of its own keeps it off ours.
        env: { ...process.env, HOME: home, XDG_CACHE_HOME: join(home, '.cache'), XDG_CONFIG_HOME: join(home, '.config'), MOZ_REMOTE_SETTINGS_DEVTOOLS: '1' },
        timeout: timeoutMs,
        protocolTimeout: timeoutMs
      })
      return new FirefoxBrowser(browser, root)
    } catch (err) {
      await rm(root, { recursive: true, force: true })
      throw err
    }
  }

  version (): Promise<string> { return this.browser.version() }

  /** Ends Firefox (politely for 10 s, then SIGKILL) and removes its profile and HOME. */
  async close (): Promise<void> {
    const proc = this.browser.process()
    const within = async <T>(p: Promise<T>, ms: number, late: T): Promise<T> => {
      let timer: NodeJS.Timeout | undefined
      try { return await Promise.race([p, new Promise<T>(resolve => { timer = setTimeout(() => resolve(late), ms) })]) } finally { clearTimeout(timer) }
    }
    const closed = await within(this.browser.close().then(() => true, () => false), 10_000, false)
    if (!closed && proc != null && proc.exitCode == null && proc.signalCode == null) {
      const exited = new Promise<void>(resolve => proc.once('exit', () => resolve()))
      proc.kill('SIGKILL')
      await within(exited, 5_000, undefined)
    }
    await rm(this.#root, { recursive: true, force: true, maxRetries: 3 })
  }
}

/** The app in a Firefox tab of the default (non-private) browsing context: one peer. */
export class FirefoxPeer {
  readonly name: string
  readonly page: Page
  private constructor (name: string, page: Page) { this.name = name; this.page = page }

  /**
   * Opens `url` (the app, or an invitation link to it) in a new tab and waits until ready.
   * `seen` collects every URL the tab requests (WebSocket handshakes as their https URL).
   */
  /** `landsOn`: the origin the page ends on when `url` leads there (an invitation through LAN mode's setup page). */
  static async open (firefox: FirefoxBrowser, name: string, url: string, seen?: string[], landsOn?: string): Promise<FirefoxPeer> {
    const page = await firefox.browser.newPage()
    if (seen != null) page.on('request', req => { seen.push(`${name} ${req.url()}`) })
    page.setDefaultTimeout(30_000)
    page.on('pageerror', err => { console.log(`[${name}] pageerror: ${(err as Error).message}`) })
    page.on('console', msg => { if (msg.type() === 'error' || process.env.FIREFOX_CONSOLE === '1') console.log(`[${name}] console: ${msg.text().slice(0, 500)}`) })
    const peer = new FirefoxPeer(name, page)
    await page.goto(url, { waitUntil: 'load', timeout: 30_000 })
    if (landsOn != null) await page.waitForFunction((origin: string) => location.origin === origin, { timeout: 30_000, polling: 100 }, landsOn)
    await peer.ready()
    return peer
  }

  /** The node is up and the service worker controls the page (API calls reach the node). */
  async ready (timeout = 30_000): Promise<void> {
    await this.page.waitForFunction(() => (globalThis as any).lightcafe?.ready === true && navigator.serviceWorker.controller != null, { timeout, polling: 100 })
  }

  /** Calls the local API the way a same-origin app does: fetch through the service worker. */
  async api<T = any> (method: string, path: string, body?: unknown): Promise<ApiResult<T>> {
    return this.page.evaluate(apiFromPage, { method, path, body }) as Promise<ApiResult<T>>
  }
}
