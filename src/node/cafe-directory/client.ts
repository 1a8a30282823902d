import { serviceCapabilities } from '@libp2p/interface'
import { DIRECTORY_LIMITS, DIRECTORY_PROTOCOL, messages } from './protocol.ts'
import type { DirectoryAnswer, DirectoryOp } from './protocol.ts'
import type { AbortOptions, ComponentLogger, DialTarget, Logger, Startable } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { Multiaddr } from '@multiformats/multiaddr'

/** A peer's side of the relays' directories: list the cafes, and announce this one while cafe mode is on. */
export interface CafeDirectory {
  /** Announces this peer as a cafe on one relay; the relay's answer (`{ok, ttlMs}`, or `{error: 'DIRECTORY_FULL'}`). */
  announce(relay: DialTarget, options?: AbortOptions): Promise<DirectoryAnswer>
  /** Takes this peer off one relay's directory. */
  leave(relay: DialTarget, options?: AbortOptions): Promise<DirectoryAnswer>
  /** The cafes a relay knows (peer ids), the longest listed first. */
  list(relay: DialTarget, options?: AbortOptions): Promise<string[]>
  /**
   * Starts (or stops, leaving) keeping this peer announced on the relays; safe to call on every
   * settings change. Resolves when the relays answered this round (failures are logged: the next
   * round retries).
   */
  keepAnnounced(on: boolean, options?: AbortOptions): Promise<void>
  /** Announces now, if announcing (after a relay came back, its directory is empty). */
  refresh(options?: AbortOptions): Promise<void>
}

export interface CafeDirectoryInit {
  /** The relays to announce on (default: none). */
  relays?: () => Multiaddr[]
  /** How often to refresh the announcements (default DIRECTORY_LIMITS.announceEveryMs, well within the relay's TTL). */
  announceEveryMs?: number
}

export interface CafeDirectoryComponents {
  connectionManager: ConnectionManager
  logger: ComponentLogger
}

class CafeDirectoryService implements CafeDirectory, Startable {
  readonly [Symbol.toStringTag] = '@lightcafe/cafe-directory'
  readonly [serviceCapabilities]: string[] = ['@lightcafe/cafe-directory']

  readonly #connectionManager: ConnectionManager
  readonly #log: Logger
  readonly #relays: () => Multiaddr[]
  readonly #everyMs: number
  #timer: ReturnType<typeof setInterval> | undefined

  constructor (components: CafeDirectoryComponents, init: CafeDirectoryInit) {
    this.#connectionManager = components.connectionManager
    this.#log = components.logger.forComponent('lightcafe:cafe-directory')
    this.#relays = init.relays ?? (() => [])
    this.#everyMs = init.announceEveryMs ?? DIRECTORY_LIMITS.announceEveryMs
  }

  start (): void {}

  /** Stops announcing (without leaving: the entries expire, or go when the connections close). */
  stop (): void {
    if (this.#timer != null) clearInterval(this.#timer)
    this.#timer = undefined
  }

  async #ask (relay: DialTarget, op: DirectoryOp, options: AbortOptions = {}): Promise<DirectoryAnswer> {
    const signal = options.signal ?? AbortSignal.timeout(DIRECTORY_LIMITS.timeoutMs)
    const stream = await this.#connectionManager.openStream(relay, DIRECTORY_PROTOCOL, { signal })
    const io = messages(stream)
    await io.write({ op }, { signal })
    const answer = await io.read({ signal }) as DirectoryAnswer
    await stream.close().catch(() => {})
    return answer
  }

  async announce (relay: DialTarget, options?: AbortOptions): Promise<DirectoryAnswer> { return this.#ask(relay, 'announce', options) }

  async leave (relay: DialTarget, options?: AbortOptions): Promise<DirectoryAnswer> { return this.#ask(relay, 'leave', options) }

  async list (relay: DialTarget, options?: AbortOptions): Promise<string[]> {
    const answer = await this.#ask(relay, 'list', options)
    return Array.isArray(answer.cafes) ? answer.cafes.filter((c): c is string => typeof c === 'string').slice(0, DIRECTORY_LIMITS.maxEntries) : []
  }

  async #all (op: DirectoryOp, options?: AbortOptions): Promise<void> {
    const results = await Promise.allSettled(this.#relays().map(async r => this.#ask(r, op, options)))
    for (const r of results) if (r.status === 'rejected') this.#log('%s failed: %e', op, r.reason)
  }

  async keepAnnounced (on: boolean, options?: AbortOptions): Promise<void> {
    if (on && this.#timer == null) {
      this.#timer = setInterval(() => { void this.#all('announce') }, this.#everyMs)
      await this.#all('announce', options)
    } else if (!on && this.#timer != null) {
      this.stop()
      await this.#all('leave', options)
    }
  }

  async refresh (options?: AbortOptions): Promise<void> { if (this.#timer != null) await this.#all('announce', options) }
}

/** The directory client, for libp2p's `services`. */
export function cafeDirectory (init: CafeDirectoryInit = {}): (components: CafeDirectoryComponents) => CafeDirectory {
  return (components) => new CafeDirectoryService(components, init)
}
