import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { LightcafeError } from '../shared/errors.ts'
import { ByteReader, UnexpectedEndError } from '../shared/streams.ts'

export interface BlockRef { cid: string, bytes: number }

export const BLOCK_LIMITS = {
  /** Larger than any block IPFS tools make (1 MiB chunks, 2 MiB bitswap limit); bounds memory per block. */
  maxBlockBytes: 2 * 1024 * 1024,
  /** Links followed per DAG walk before giving up: a bound on work a stranger's DAG can cause. */
  maxDagBlocks: 1_000_000
} as const

export const CAR_LIMITS = {
  /** A CAR header is a version and a few root CIDs: far below this. Checked before it is read. */
  maxHeaderBytes: 64 * 1024,
  /** A CID's bytes: prefixes plus a digest (sha2-256: 32 bytes; identity CIDs inlined up to 128 bytes, as kubo allows). */
  maxCidBytes: 256
} as const

const SHA2_256 = 0x12
const IDENTITY = 0x00

/** A block whose bytes do not hash to its CID, or that cannot be checked. Nothing of it is kept. */
export class BlockRejectedError extends LightcafeError {
  static override name = 'BlockRejectedError'
  override name = 'BlockRejectedError'
}

/** Checks bytes against their CID's multihash; throws BlockRejectedError otherwise. */
export async function verifyBlock (cid: CID, bytes: Uint8Array): Promise<void> {
  if (bytes.byteLength > BLOCK_LIMITS.maxBlockBytes) throw new BlockRejectedError('BLOCK_TOO_LARGE', `block ${cid.toString()} is larger than ${BLOCK_LIMITS.maxBlockBytes} bytes`)
  const { code, digest } = cid.multihash
  let actual: Uint8Array
  if (code === SHA2_256) actual = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>))
  else if (code === IDENTITY) actual = bytes
  else throw new BlockRejectedError('UNSUPPORTED_HASH', `block ${cid.toString()} uses hash 0x${code.toString(16)}; this cafe verifies sha2-256 and identity`)
  if (actual.length !== digest.length || !actual.every((v, i) => v === digest[i])) {
    throw new BlockRejectedError('BLOCK_MISMATCH', `the bytes sent for ${cid.toString()} do not match its hash`)
  }
}

/** Opens a CAR stream: its roots (from the header) and its blocks, each verified against its CID as it is read. */
export async function openCar (car: AsyncIterable<Uint8Array>): Promise<{ roots: CID[], blocks: AsyncGenerator<{ cid: CID, bytes: Uint8Array }> }> {
  const reader = new ByteReader(car)
  let roots: CID[]
  try {
    roots = await readCarHeader(reader)
  } catch (err) {
    await reader.close().catch(() => {})
    throw carError(err)
  }
  async function * blocks (): AsyncGenerator<{ cid: CID, bytes: Uint8Array }> {
    try {
      for (;;) {
        let block: { cid: CID, bytes: Uint8Array } | undefined
        try { block = await readCarSection(reader) } catch (err) { throw carError(err) }
        if (block == null) return
        await verifyBlock(block.cid, block.bytes)
        yield block
      }
    } finally {
      await reader.close().catch(() => {})
    }
  }
  return { roots, blocks: blocks() }
}

/** A refusal as it is, anything else (truncation, bad varint, bad CBOR or CID) as INVALID_CAR. */
function carError (err: unknown): Error {
  if (err instanceof LightcafeError && !(err instanceof UnexpectedEndError)) return err
  return new BlockRejectedError('INVALID_CAR', `the body is not a CARv1 file (${(err as Error).message})`)
}

// CARv1 (https://ipld.io/specs/transport/car/carv1/): varint | dag-cbor {version: 1, roots},
// then sections varint | CID | block. Every length is checked before its bytes are read, so a
// claimed length costs nothing but its varint.
async function readCarHeader (reader: ByteReader): Promise<CID[]> {
  const length = await reader.varint()
  if (length > CAR_LIMITS.maxHeaderBytes) throw new BlockRejectedError('CAR_HEADER_TOO_LARGE', `the CAR header claims ${length} bytes; the limit is ${CAR_LIMITS.maxHeaderBytes}`)
  const header = dagCbor.decode(await reader.exactly(length)) as { version?: unknown, roots?: unknown }
  if (header == null || typeof header !== 'object' || header.version !== 1 || !Array.isArray(header.roots)) throw new BlockRejectedError('INVALID_CAR', 'the body is not a CARv1 file (its header is not {version: 1, roots})')
  return header.roots.map(r => {
    const cid = CID.asCID(r)
    if (cid == null) throw new BlockRejectedError('INVALID_CAR', 'a root in the CAR header is not a CID')
    return cid
  })
}

async function readCarSection (reader: ByteReader): Promise<{ cid: CID, bytes: Uint8Array } | undefined> {
  if (await reader.atEnd()) return undefined
  const length = await reader.varint()
  if (length > BLOCK_LIMITS.maxBlockBytes + CAR_LIMITS.maxCidBytes) throw new BlockRejectedError('BLOCK_TOO_LARGE', `a CAR section claims ${length} bytes; blocks are limited to ${BLOCK_LIMITS.maxBlockBytes}`)
  const section = await reader.exactly(length)
  const [cid, bytes] = CID.decodeFirst(section)
  if (cid.bytes.byteLength > CAR_LIMITS.maxCidBytes) throw new BlockRejectedError('INVALID_CAR', `a CID in the CAR is longer than ${CAR_LIMITS.maxCidBytes} bytes`)
  return { cid, bytes }
}

/** Reads a CAR stream, yielding only blocks that match their CIDs. */
export async function * verifiedCarBlocks (car: AsyncIterable<Uint8Array>): AsyncGenerator<{ cid: CID, bytes: Uint8Array }> {
  yield * (await openCar(car)).blocks
}
