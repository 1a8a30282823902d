/**
 * A Map that holds at most `max` entries and forgets its oldest when a new key would pass
 * that. Map order is the order keys were last set (or touched), so the key forgotten is the
 * one set longest ago: least recently used, where readers `touch()`.
 */
export class BoundedMap<K, V> {
  readonly #map = new Map<K, V>()
  readonly max: number

  constructor (max: number) {
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError('max must be a positive integer')
    this.max = max
  }

  get (key: K): V | undefined { return this.#map.get(key) }
  has (key: K): boolean { return this.#map.has(key) }

  /** get() that also counts as a use: the key moves to the back, last to be forgotten. */
  touch (key: K): V | undefined {
    if (!this.#map.has(key)) return undefined
    const value = this.#map.get(key) as V
    this.#map.delete(key)
    this.#map.set(key, value)
    return value
  }

  /** Sets `key` (moving it to the back); past `max`, forgets the oldest and returns its key. */
  set (key: K, value: V): K | undefined {
    this.#map.delete(key)
    this.#map.set(key, value)
    if (this.#map.size <= this.max) return undefined
    const oldest = this.#map.keys().next().value as K
    this.#map.delete(oldest)
    return oldest
  }

  delete (key: K): boolean { return this.#map.delete(key) }

  /**
   * Forgets entries from the oldest on while `stale` holds for them, and stops at the first
   * that is not: where age order is expiry order (one lifetime for all), this drops exactly
   * the expired ones. Returns what it dropped, oldest first.
   */
  dropOldestWhile (stale: (value: V, key: K) => boolean): Array<[K, V]> {
    const dropped: Array<[K, V]> = []
    for (const [key, value] of this.#map) {
      if (!stale(value, key)) break
      this.#map.delete(key)
      dropped.push([key, value])
    }
    return dropped
  }

  /** Whether `max` entries are held: a new key would push the oldest out. */
  get full (): boolean { return this.#map.size >= this.max }
  get size (): number { return this.#map.size }
  keys (): IterableIterator<K> { return this.#map.keys() }
  values (): IterableIterator<V> { return this.#map.values() }
  entries (): IterableIterator<[K, V]> { return this.#map.entries() }
  [Symbol.iterator] (): IterableIterator<[K, V]> { return this.#map[Symbol.iterator]() }
}
