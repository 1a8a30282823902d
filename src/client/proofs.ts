import { CID } from 'multiformats/cid'
import { BlockRejectedError, openCar } from '../ipfs/verify.ts'
import { boundedChunks } from '../shared/streams.ts'
import type { BlockRef } from '../ipfs/verify.ts'

export const PROOF_LIMITS = {
  /** Blocks asked per proof (one per stratum): a cafe that dropped a share f of the blocks is caught with probability at least 1 - (1 - f)^8, and one that dropped a run of 1/4 of them always. */
  blocks: 8,
  /** Bytes of blocks asked per proof (1 MiB UnixFS leaves: ~4 of them, plus small nodes). */
  maxBytes: 4 * 1024 * 1024,
  /** What the cafe's CAR answer may add to the blocks' bytes: its header, a CID and a varint per block. */
  carSlackBytes: 16 * 1024,
  /** A proof's answer must be complete within this. */
  timeoutMs: 60_000
} as const

/** Fills a buffer with random values: WebCrypto's CSPRNG unless a test gives another. */
export type RandomSource = (buf: Uint32Array) => void

const cryptoRandom: RandomSource = buf => { crypto.getRandomValues(buf) }

/**
 * A uniform integer in [0, n), by rejection (no modulo bias): values past the largest multiple
 * of n below 2^32 are drawn again.
 */
export function randomBelow (n: number, random: RandomSource = cryptoRandom): number {
  if (!Number.isSafeInteger(n) || n < 1 || n > 2 ** 32) throw new RangeError('n must be 1 to 2^32')
  const limit = 2 ** 32 - (2 ** 32 % n)
  const buf = new Uint32Array(1)
  for (;;) {
    random(buf)
    if (buf[0] < limit) return buf[0] % n
  }
}

/**
 * The blocks a proof asks for, stratified: the list (this device's own, in DAG order, so a
 * file's bytes in order) is cut into `count` equal runs and one block is drawn uniformly from
 * each with a CSPRNG. Each block is as likely as under a uniform draw, but a cafe that dropped a
 * run of blocks (a file's tail, a whole DAG) is caught far more often: any run of 2/count of the
 * list holds a whole stratum, so every proof asks for one of its blocks (uniformly: a quarter
 * dropped went unseen by 1 proof in 10). Bytes stay within `maxBytes`: a stratum whose draw would
 * pass it draws again (a bounded number of times), then is left out; strata are visited in a
 * random order so the bound does not always fall on the same ones. Drawn at the moment of the
 * proof, so the cafe can neither know nor steer them.
 */
export function pickBlocks (blocks: BlockRef[], opts: { count?: number, maxBytes?: number, random?: RandomSource } = {}): BlockRef[] {
  const count = opts.count ?? PROOF_LIMITS.blocks
  const maxBytes = opts.maxBytes ?? PROOF_LIMITS.maxBytes
  const n = blocks.length
  const strata = Math.min(count, n)
  const order = Array.from({ length: strata }, (_, i) => i)
  const out: BlockRef[] = []
  let bytes = 0
  for (let left = strata; left > 0; left--) {
    // A Fisher-Yates step: the next stratum, in a random order.
    const j = randomBelow(left, opts.random)
    const s = order[j]
    order[j] = order[left - 1]
    const lo = Math.floor(s * n / strata)
    const hi = Math.floor((s + 1) * n / strata)
    for (let draw = 0; draw < 4; draw++) {
      const b = blocks[lo + randomBelow(hi - lo, opts.random)]
      if (bytes + b.bytes > maxBytes) continue
      out.push(b)
      bytes += b.bytes
      break
    }
  }
  return out
}

/** What a proof came to: blocks that came and matched, blocks the cafe left out, and whether any it sent was forged. */
export interface ProofOutcome { proven: string[], missing: string[], forged: string[], bytes: number }

/**
 * Reads a cafe's proof answer (a CAR of the blocks asked, no root), bounded in bytes (the
 * blocks' own plus slack) and time: each block is checked against its CID; a block not asked
 * for, or whose bytes do not match, is forged.
 */
export async function readProof (body: ReadableStream<Uint8Array>, asked: BlockRef[], signal: AbortSignal): Promise<ProofOutcome> {
  const maxBytes = asked.reduce((n, b) => n + b.bytes, 0) + PROOF_LIMITS.carSlackBytes
  const wanted = new Set(asked.map(b => CID.parse(b.cid).toString()))
  const proven = new Set<string>()
  const forged: string[] = []
  let bytes = 0
  const { blocks } = await openCar(boundedChunks(body, { maxBytes, signal, what: 'the proof' }))
  try {
    for await (const b of blocks) {
      const id = b.cid.toString()
      if (!wanted.has(id)) { forged.push(id); break }
      proven.add(id)
      bytes += b.bytes.byteLength
    }
  } catch (err) {
    // A block whose bytes do not hash to its CID: the cafe answered with data it does not have.
    if (err instanceof BlockRejectedError && err.reason === 'BLOCK_MISMATCH') forged.push(/for (\S+) do not/.exec(err.message)?.[1] ?? 'unknown')
    else throw err
  }
  return { proven: [...proven], missing: asked.map(b => CID.parse(b.cid).toString()).filter(c => !proven.has(c)), forged, bytes }
}
