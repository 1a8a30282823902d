import { CID } from 'multiformats/cid'
import { READ_AHEAD } from '../ipfs/dag.ts'
import { BlockRejectedError } from '../ipfs/verify.ts'
import type { BlockRef } from '../ipfs/verify.ts'

/** CIDs per have/want question: the cafe's own bound (PIN_LIMITS.maxMissingQuery). */
export const HAVE_WANT_BATCH = 1024

/** Asks a cafe one question (CafeApi.missing); resolves with its answer (undefined: the cafe does not know the route). */
export type Ask = (cids: string[]) => Promise<{ missing?: unknown } | undefined>

/**
 * The have/want exchange: which blocks of `blocks` the cafe still needs, asked in batches.
 * Undefined when the cafe predates the exchange (it answers 404 to the route): send them all.
 */
export async function wantedBlocks (ask: Ask, blocks: BlockRef[]): Promise<Set<string> | undefined> {
  const wanted = new Set<string>()
  for (let i = 0; i < blocks.length; i += HAVE_WANT_BATCH) {
    const cids = blocks.slice(i, i + HAVE_WANT_BATCH).map(b => b.cid)
    const answer = await ask(cids)
    if (answer == null) return undefined
    const { missing } = answer
    if (!Array.isArray(missing)) throw new BlockRejectedError('BAD_RESPONSE', 'the cafe\'s have/want answer is not {missing: [...]}')
    // Only what was asked counts: a cafe cannot make this device read anything else.
    const asked = new Set(cids)
    for (const c of missing) if (typeof c === 'string' && asked.has(c)) wanted.add(c)
  }
  return wanted
}

/**
 * The blocks named by `cids` read from this device, in order, `ahead` reads begun before they
 * are needed (a store's reads overlap). A block that is not here fails the read: a backup
 * sends only what is on this device.
 */
export async function * readBlocks (cids: string[], get: (cid: CID) => Promise<Uint8Array | undefined>, ahead = READ_AHEAD): AsyncGenerator<{ cid: CID, bytes: Uint8Array }> {
  const parsed = cids.map(c => CID.parse(c))
  const reads: Array<Promise<Uint8Array | undefined>> = []
  const start = (i: number): void => {
    if (i >= parsed.length || reads[i] != null) return
    const r = get(parsed[i])
    r.catch(() => {}) // awaited in turn; a walk stopped early leaves it unheard
    reads[i] = r
  }
  for (let i = 0; i < parsed.length; i++) {
    for (let j = i; j <= i + ahead; j++) start(j)
    const bytes = await reads[i]
    delete reads[i]
    if (bytes == null) throw new BlockRejectedError('BLOCK_MISSING', `block ${cids[i]} is not on this device`)
    yield { cid: parsed[i], bytes }
  }
}
