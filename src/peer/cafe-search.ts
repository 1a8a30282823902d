import { CafeApi } from '../client/cafe-api.ts'
import type { CafeDirectory } from '../node/cafe-directory/index.ts'
import type { AbortOptions } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** How long a relays' directory answer may serve the next ask (a warm-up's, the query after it). */
const DIRECTORY_CACHE_MS = 10_000

/**
 * Where a device's searches go, cafe or not: the cafes the relays' directories list, and one
 * query to one of them. A cafe passes queries on through the same (`Forward` of search-api.ts).
 */
export interface CafeSearch {
  /** Each relay's directory list (longest listed first), for a search's sample across relays. */
  lists(): Promise<string[][]>
  /** Cafes listed by the relays' directories, each once. */
  cafes(): Promise<string[]>
  /** One search query to another cafe, its answer bounded in bytes and time. */
  ask(cafeId: string, query: Record<string, unknown>, options?: AbortOptions): Promise<unknown>
}

export interface CafeSearchInit {
  directory: Pick<CafeDirectory, 'list'>
  /** The relays whose directories are read. */
  relays: () => Multiaddr[]
  /** Asks a cafe over libp2p: the device's own transport, dialling as it can. */
  fetchCafe: (cafeId: string, request: Request, options?: AbortOptions) => Promise<Response>
}

export function cafeSearch (init: CafeSearchInit): CafeSearch {
  // Asked in parallel with one deadline. One answer serves the next ask too, if it comes within
  // seconds: a search box that warms up and then queries asks the relays once. Only once: a list
  // kept longer would hide cafes that announced since from every search in that time.
  let kept: { at: number, lists: Promise<string[][]> } | undefined
  const lists = async (): Promise<string[][]> => {
    const earlier = kept
    kept = undefined
    if (earlier != null && Date.now() - earlier.at < DIRECTORY_CACHE_MS) return earlier.lists
    const asked = (async () => {
      const answers = await Promise.allSettled(init.relays().map(async r => init.directory.list(r, { signal: AbortSignal.timeout(3_000) })))
      return answers.flatMap(l => l.status === 'fulfilled' && l.value.length > 0 ? [l.value] : [])
    })()
    kept = { at: Date.now(), lists: asked }
    // An empty list is not kept: asked before any cafe announced (or with every relay down).
    void asked.then(all => { if (all.length === 0 && kept?.lists === asked) kept = undefined })
    return asked
  }
  return {
    lists,
    cafes: async () => [...new Set((await lists()).flat())],
    // The deadline covers the answer's body too: a cafe answering forever is cut off at the cap or the deadline.
    ask: async (cafeId, query, { signal } = {}) =>
      new CafeApi(async (path, request, options) => init.fetchCafe(cafeId, new Request(`http://cafe${path}`, request), options), cafeId).search(query, { signal })
  }
}
