import { serviceCapabilities } from '@libp2p/interface'
import { sourceOf } from '../../shared/source-address.ts'
import { DIRECTORY_LIMITS, DIRECTORY_PROTOCOL, messages } from './protocol.ts'
import type { DirectoryAnswer } from './protocol.ts'
import type { ComponentLogger, Connection, Libp2pEvents, Logger, PeerId, Startable, Stream, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'

/**
 * The relay's side: serves the directory on its libp2p node. Entries go when they expire or
 * their cafe disconnects. Lists give the longest-listed cafes first (a refresh keeps a cafe's
 * place), so whoever takes only the first few takes established cafes, not newcomers.
 */
export interface CafeDirectoryServer {
  /** The cafes listed now (connected or not), the longest listed first. */
  entries(): string[]
}

export interface CafeDirectoryServerInit {
  /** Entries kept (default DIRECTORY_LIMITS.maxEntries). */
  maxEntries?: number
  /** Entries from one source address (default DIRECTORY_LIMITS.maxPerAddress). */
  maxPerAddress?: number
  /** Sources the per-address bound does not apply to (default: none; `npm start`'s relay exempts loopback, its host's own browser). */
  exempt?: (source: string) => boolean
  /** The clock (tests). */
  now?: () => number
}

export interface CafeDirectoryServerComponents {
  registrar: Registrar
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

/** An entry: one per authenticated peer (Noise proved it), so a connection can only ever announce itself; `source` is where it announced from. */
interface Entry { peer: string, source: string, since: number, expires: number }

class CafeDirectoryServerService implements CafeDirectoryServer, Startable {
  readonly [Symbol.toStringTag] = '@lightcafe/cafe-directory-server'
  readonly [serviceCapabilities]: string[] = ['@lightcafe/cafe-directory-server']

  readonly #components: CafeDirectoryServerComponents
  readonly #log: Logger
  readonly #now: () => number
  readonly #maxEntries: number
  readonly #maxPerAddress: number
  readonly #exempt: (source: string) => boolean
  // Insertion order = first announce: the oldest entries come first.
  readonly #entries = new Map<string, Entry>()

  constructor (components: CafeDirectoryServerComponents, init: CafeDirectoryServerInit) {
    this.#components = components
    this.#log = components.logger.forComponent('lightcafe:cafe-directory')
    this.#now = init.now ?? Date.now
    this.#maxEntries = init.maxEntries ?? DIRECTORY_LIMITS.maxEntries
    this.#maxPerAddress = init.maxPerAddress ?? DIRECTORY_LIMITS.maxPerAddress
    this.#exempt = init.exempt ?? (() => false)
  }

  readonly #onDisconnect = (e: CustomEvent<PeerId>): void => { this.#entries.delete(e.detail.toString()) }

  async start (): Promise<void> {
    this.#components.events.addEventListener('peer:disconnect', this.#onDisconnect)
    await this.#components.registrar.handle(DIRECTORY_PROTOCOL, async (stream, connection) => { await this.#serve(stream, connection) }, { runOnLimitedConnection: true })
  }

  async stop (): Promise<void> {
    this.#components.events.removeEventListener('peer:disconnect', this.#onDisconnect)
    await this.#components.registrar.unhandle(DIRECTORY_PROTOCOL)
    this.#entries.clear()
  }

  entries (): string[] { return [...this.#entries.keys()] }

  #answer (op: unknown, peer: string, source: string): DirectoryAnswer {
    const t = this.#now()
    for (const [k, e] of this.#entries) if (e.expires <= t) this.#entries.delete(k)
    if (op === 'announce') {
      const held = this.#entries.get(peer)
      if (held != null) {
        held.expires = t + DIRECTORY_LIMITS.ttlMs
        return { ok: true, ttlMs: DIRECTORY_LIMITS.ttlMs }
      }
      if (this.#entries.size >= this.#maxEntries) return { error: 'DIRECTORY_FULL', retryMs: DIRECTORY_LIMITS.announceEveryMs }
      if (!this.#exempt(source)) {
        let fromThere = 0
        for (const e of this.#entries.values()) if (e.source === source) fromThere++
        if (fromThere >= this.#maxPerAddress) return { error: 'TOO_MANY_LISTINGS', retryMs: DIRECTORY_LIMITS.announceEveryMs }
      }
      this.#entries.set(peer, { peer, source, since: t, expires: t + DIRECTORY_LIMITS.ttlMs })
      return { ok: true, ttlMs: DIRECTORY_LIMITS.ttlMs }
    }
    if (op === 'leave') {
      this.#entries.delete(peer)
      return { ok: true }
    }
    if (op === 'list') {
      // Only cafes still connected to this relay: a closed tab is not worth a dial.
      const connected = new Set(this.#components.connectionManager.getConnections().filter(c => c.status === 'open').map(c => c.remotePeer.toString()))
      return { cafes: [...this.#entries.keys()].filter(p => connected.has(p)) }
    }
    return { error: 'UNKNOWN_OP' }
  }

  async #serve (stream: Stream, connection: Connection): Promise<void> {
    const io = messages(stream)
    const signal = AbortSignal.timeout(DIRECTORY_LIMITS.timeoutMs)
    try {
      const req = await io.read({ signal }) as { op?: unknown }
      await io.write(this.#answer(req.op, connection.remotePeer.toString(), sourceOf(connection.remoteAddr.toString())), { signal })
      await stream.close()
    } catch (err) {
      this.#log('request from %p failed: %e', connection.remotePeer, err)
      stream.abort(err as Error)
    }
  }
}

/** The directory a relay serves, for libp2p's `services`. */
export function cafeDirectoryServer (init: CafeDirectoryServerInit = {}): (components: CafeDirectoryServerComponents) => CafeDirectoryServer {
  return (components) => new CafeDirectoryServerService(components, init)
}
