import { BoundedMap } from '../shared/bounded-map.ts'

/**
 * Which cafes one search asks. A relay's directory holds up to 1,000 cafes and anyone can be
 * listed, so asking all of them let one search cause ~9,000 requests and let fake cafes crowd
 * out real ones. A search asks a bounded sample: this account's own cafes, then cafes that
 * answered well before (remembered by this page), then a random pick spread over the relays'
 * lists: half from a list's longest-listed entries (established cafes, not peer ids minted a
 * moment ago), half from the whole list (so cafes that listed themselves early, sybils that
 * filled a directory first included, cannot hold every place the sample draws from).
 */
export const SEARCH_SAMPLE = {
  /** Cafes one search asks (and a warm-up dials) at most; each may pass the query to SEARCH_FANOUT.maxTargets more. */
  maxAsked: 16,
  /** Of those, at most this many chosen for having answered well before: the rest find new cafes. */
  maxKnownGood: 8,
  /** Every other random pick from a relay's list is among its first (longest listed) this many; the others from the whole list. */
  window: 64,
  /** Cafes remembered per page. */
  remembered: 1_000,
  /** The random part of the sample stays the same this long: a warm-up and the search after it ask the same cafes. */
  steadyMs: 60_000
} as const

/** A small seeded generator (mulberry32): the same seed, the same picks. */
function seeded (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}

interface Record { useful: number, answered: number, missed: number, forged: boolean }

/** How cafes did in this page's searches: the sample prefers those that answered well and skips those that sent forgeries. */
export class CafeMemory {
  readonly #records = new BoundedMap<string, Record>(SEARCH_SAMPLE.remembered)
  readonly #seed = Math.floor(Math.random() * 2 ** 32)

  /** This page's random source for samples, the same within SEARCH_SAMPLE.steadyMs. */
  random (now = Date.now()): () => number { return seeded(this.#seed ^ Math.floor(now / SEARCH_SAMPLE.steadyMs)) }

  #get (cafe: string): Record {
    const held = this.#records.get(cafe) ?? { useful: 0, answered: 0, missed: 0, forged: false }
    this.#records.set(cafe, held)
    return held
  }

  /** It answered in time with a valid answer, `results` of them verified contacts. */
  answered (cafe: string, results: number): void {
    const r = this.#get(cafe)
    r.answered++
    if (results > 0) r.useful++
  }

  /** It did not answer in time (or at all). */
  missed (cafe: string): void { this.#get(cafe).missed++ }

  /** Its own answer held a forged or malformed contact: not asked again by this page. */
  forged (cafe: string): void { this.#get(cafe).forged = true }

  isForger (cafe: string): boolean { return this.#records.get(cafe)?.forged === true }

  /** Above 0: it answered well more often than it missed. */
  score (cafe: string): number {
    const r = this.#records.get(cafe)
    return r == null || r.forged ? 0 : 2 * r.useful + r.answered - r.missed
  }
}

export interface SampleInput {
  /** This account's own cafes: always asked (up to the bound). */
  own: readonly string[]
  /** Each relay's list, longest listed first. */
  lists: ReadonlyArray<readonly string[]>
  self: string
  memory?: CafeMemory
  max?: number
  random?: () => number
}

/** The cafes to ask, at most `max` (SEARCH_SAMPLE.maxAsked). */
export function pickCafes (input: SampleInput): string[] {
  const max = input.max ?? SEARCH_SAMPLE.maxAsked
  const random = input.random ?? input.memory?.random() ?? Math.random
  const memory = input.memory
  const chosen = new Set<string>()
  const usable = (c: string): boolean => c !== input.self && !chosen.has(c) && memory?.isForger(c) !== true
  for (const c of input.own) if (chosen.size < max && usable(c)) chosen.add(c)

  // Those that answered well before, best first.
  if (memory != null) {
    const known = [...new Set(input.lists.flat())].filter(c => usable(c) && memory.score(c) > 0).sort((a, b) => memory.score(b) - memory.score(a))
    for (const c of known.slice(0, Math.min(SEARCH_SAMPLE.maxKnownGood, max - chosen.size))) chosen.add(c)
  }

  // The rest at random, a relay at a time: one relay's long list cannot fill the sample alone.
  // Each relay's picks alternate: from its longest listed, then from anywhere in its list.
  const left = input.lists.map(l => l.filter(usable))
  const picks = left.map(() => 0)
  for (let turn = 0; chosen.size < max && left.some(l => l.length > 0); turn++) {
    const r = turn % left.length
    const list = left[r]
    // Drop what another relay's turn already took.
    for (let i = list.length - 1; i >= 0; i--) if (chosen.has(list[i])) list.splice(i, 1)
    if (list.length === 0) continue
    const from = picks[r]++ % 2 === 0 ? Math.min(list.length, SEARCH_SAMPLE.window) : list.length
    chosen.add(list.splice(Math.floor(random() * from), 1)[0])
  }
  return [...chosen]
}
