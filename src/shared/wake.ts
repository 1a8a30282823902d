import { BoundedMap } from './bounded-map.ts'

/**
 * Why waiting retries should run now: the browser came online, its kind of network changed,
 * the host's addresses changed (Node), a relay is connected again, a dial succeeded while a
 * relay was away, or a peer we could not reach is back (its relay saw it reserve again, or it
 * connected to us).
 */
export type WakeReason = 'online' | 'network' | 'addresses' | 'relay' | 'dial' | 'peer'

export interface WakeEvent { reason: WakeReason, peer?: string }

export const WAKE_LIMITS = {
  /** One wake per reason (per peer for 'peer') at most this often: a flapping source cannot make every backoff spin. */
  minGapMs: 1_000,
  /** Peers waited for at once; past it the longest waited-for is forgotten (its retries keep their backoff). */
  maxAwaited: 256,
  /** A peer is waited for this long after the last failure to reach it. */
  awaitMs: 10 * 60_000
} as const

type Listener<T> = (value: T) => void

/**
 * "The network came back": one signal that every retry with a backoff listens to (relay
 * redials, outboxes, session refreshes, inbox collection), so that each waits out its backoff
 * only while what it needs is really down, and all of them try again at once when the network
 * or the peer they wait for returns. Sources call `notify`; a peer that could not be reached is
 * `await`ed (watchers, such as the relays' reservation watch, learn of it) and `seen` wakes
 * everyone once when it is back.
 */
export class Wake {
  readonly #listeners = new Set<Listener<WakeEvent>>()
  readonly #awaitListeners = new Set<Listener<string>>()
  readonly #last = new Map<string, number>()
  /** Repeats held until their gap ends. */
  readonly #held = new Map<string, ReturnType<typeof setTimeout>>()
  /** Peer id → since and until when it is waited for (ms since the epoch), oldest registration first. */
  readonly #awaited = new BoundedMap<string, { since: number, until: number }>(WAKE_LIMITS.maxAwaited)
  readonly #now: () => number

  constructor (init: { now?: () => number } = {}) { this.#now = init.now ?? Date.now }

  /**
   * Every waiting retry should run now. The same wake (per reason; per peer for 'peer') runs at
   * most once per `minGapMs`: a repeat within it is held until the gap ends (one for all
   * repeats), never lost. True when it ran now.
   */
  notify (reason: WakeReason, peer?: string): boolean {
    const key = peer != null ? `${reason}:${peer}` : reason
    const now = this.#now()
    const last = this.#last.get(key) ?? -Infinity
    if (now - last < WAKE_LIMITS.minGapMs) {
      if (!this.#held.has(key)) {
        this.#held.set(key, setTimeout(() => { this.#held.delete(key); this.notify(reason, peer) }, last + WAKE_LIMITS.minGapMs - now))
      }
      return false
    }
    this.#last.set(key, now)
    if (this.#last.size > 4 * WAKE_LIMITS.maxAwaited) for (const [k, t] of this.#last) if (now - t >= WAKE_LIMITS.minGapMs) this.#last.delete(k)
    const event: WakeEvent = peer != null ? { reason, peer } : { reason }
    for (const fn of [...this.#listeners]) fn(event)
    return true
  }

  /** Drops held repeats (the owner is stopping). */
  stop (): void {
    for (const t of this.#held.values()) clearTimeout(t)
    this.#held.clear()
  }

  /** Calls `fn` on every wake; returns the function that stops it. */
  on (fn: Listener<WakeEvent>): () => void {
    this.#listeners.add(fn)
    return () => { this.#listeners.delete(fn) }
  }

  /** Runs `fn` after `ms`, or at the next wake if that comes first (once either way); returns a cancel. */
  after (ms: number, fn: (event?: WakeEvent) => void): () => void {
    let done = false
    const fire = (event?: WakeEvent): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      off()
      fn(event)
    }
    const timer = setTimeout(() => { fire() }, ms)
    const off = this.on(fire)
    return () => { done = true; clearTimeout(timer); off() }
  }

  /**
   * A peer we could not reach: wake everyone once when it is `seen` again (within
   * WAKE_LIMITS.awaitMs). `since`: when the attempt that failed began (default now); a return
   * after it counts, even one during that attempt.
   */
  await (peer: string, since: number = this.#now()): void {
    const known = this.#waiting(peer) != null
    this.#awaited.set(peer, { since, until: this.#now() + WAKE_LIMITS.awaitMs })
    if (!known) for (const fn of [...this.#awaitListeners]) fn(peer)
  }

  #waiting (peer: string): { since: number, until: number } | undefined {
    const w = this.#awaited.get(peer)
    return w != null && w.until > this.#now() ? w : undefined
  }

  /** The peers waited for now. */
  awaited (): string[] {
    const now = this.#now()
    // Registration order is expiry order (one lifetime for all).
    this.#awaited.dropOldestWhile(w => w.until <= now)
    return [...this.#awaited.keys()]
  }

  /** How long ago the last failed attempt to reach `peer` began (undefined: not waited for). */
  awaitedFor (peer: string): number | undefined {
    const w = this.#waiting(peer)
    return w == null ? undefined : this.#now() - w.since
  }

  /** Calls `fn` with each peer newly waited for (watchers start watching it); returns the function that stops it. */
  onAwait (fn: Listener<string>): () => void {
    this.#awaitListeners.add(fn)
    return () => { this.#awaitListeners.delete(fn) }
  }

  /** A peer is reachable again: if it was waited for, everyone is woken (once). */
  seen (peer: string): boolean {
    if (this.#waiting(peer) == null) return false
    this.#awaited.delete(peer)
    return this.notify('peer', peer)
  }
}
