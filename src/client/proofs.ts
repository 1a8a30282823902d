import { CID } from 'multiformats/cid'
import { BlockRejectedError, openCar } from '../ipfs/verify.ts'
import { boundedChunks } from '../shared/streams.ts'
import type { BlockRef } from '../ipfs/verify.ts'

export const PROOF_LIMITS = {
  /** Blocks asked per proof: a cafe that dropped a share f of the blocks is caught with probability 1 - (1 - f)^8. */
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
 * The blocks a proof asks for: up to `count` distinct blocks drawn uniformly from `blocks` with
 * a CSPRNG, whose bytes together stay within `maxBytes` (a block that would pass it is not
 * asked; another is drawn, a bounded number of times). Drawn at the moment of the proof from
 * this device's own list of the DAGs' blocks, so the cafe can neither know nor steer them.
 */
export function pickBlocks (blocks: BlockRef[], opts: { count?: number, maxBytes?: number, random?: RandomSource } = {}): BlockRef[] {
  const count = opts.count ?? PROOF_LIMITS.blocks
  const maxBytes = opts.maxBytes ?? PROOF_LIMITS.maxBytes
  const pool = [...blocks]
  const out: BlockRef[] = []
  let bytes = 0
  // A partial Fisher-Yates: each draw removes its block from the pool.
  for (let draws = 0; out.length < count && pool.length > 0 && draws < 4 * count; draws++) {
    const i = randomBelow(pool.length, opts.random)
    const b = pool[i]
    pool[i] = pool[pool.length - 1]
    pool.pop()
    if (bytes + b.bytes > maxBytes) continue
    out.push(b)
    bytes += b.bytes
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
