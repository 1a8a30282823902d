import { BoundedMap } from './bounded-map.ts'

/**
 * A bounded set of seen keys (envelopes, search queries). At most `max` are kept; past that
 * the one seen longest ago is forgotten, so a key older than the window could be accepted
 * twice: pair it with a bound on age where that matters.
 */
export class SeenIds {
  // Map order = order of last sighting: the first key is the one to forget.
  readonly #keys: BoundedMap<string, true>

  constructor (max: number) { this.#keys = new BoundedMap(max) }

  has (key: string): boolean { return this.#keys.has(key) }

  /** Records a sighting; a key seen again moves to the back, as it is evidently still travelling. */
  add (key: string): void { this.#keys.set(key, true) }

  /** Forgets a key, e.g. when handling its envelope failed and a redelivery should be let in. */
  delete (key: string): boolean { return this.#keys.delete(key) }

  get size (): number { return this.#keys.size }
}
