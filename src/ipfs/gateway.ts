import { Hono } from 'hono'
import { useErrorContract } from '../shared/http-errors.ts'
import { InvalidInputError, LightcafeError, NotFoundError } from '../shared/errors.ts'
import { streamFromIterator } from '../shared/streams.ts'
import { CAR_CONTENT_TYPE, exportBlockCar, exportCar } from './car.ts'
import { parseCid } from './cid.ts'
import type { CID } from 'multiformats/cid'

export const RAW_CONTENT_TYPE = 'application/vnd.ipld.raw'

/** Which response the caller asked for: `?format=` wins over `Accept`, as the spec says. */
function wanted (url: URL, accept: string): 'raw' | 'car' {
  const format = url.searchParams.get('format')
  if (format === 'raw' || format === 'car') return format
  if (format != null) throw new InvalidInputError('INVALID_FORMAT', 'format must be raw or car')
  if (accept.includes(RAW_CONTENT_TYPE)) return 'raw'
  if (accept.includes(CAR_CONTENT_TYPE)) return 'car'
  throw new LightcafeError('NOT_ACCEPTABLE', `this is a trustless gateway: ask for ?format=raw or car, or Accept: ${RAW_CONTENT_TYPE} or ${CAR_CONTENT_TYPE}`)
}

/**
 * A Trustless Gateway answer (ipfs/specs, trustless-gateway) for `/ipfs/<cid>` from the blocks
 * `get` can read: the raw block, or a CAR of the block or whole DAG (`dag-scope=block|all`;
 * `entity` is served as `all`). The caller verifies; we only serve what we hold. With
 * `skipMissing`, a DAG with blocks gone is sent without them (and what they link to).
 */
export async function gatewayResponse (request: Request, cidText: string, get: (cid: CID) => Promise<Uint8Array | undefined>, options: { skipMissing?: boolean } = {}): Promise<Response> {
  const url = new URL(request.url)
  const cid = parseCid(cidText)
  const format = wanted(url, request.headers.get('accept') ?? '')
  const root = await get(cid)
  if (root == null) throw new NotFoundError('BLOCK_NOT_FOUND', `no block ${cid.toString()} here`)
  const headers = new Headers({
    'x-content-type-options': 'nosniff',
    'cache-control': 'public, max-age=29030400, immutable',
    'x-ipfs-path': `/ipfs/${cid.toString()}`,
    'content-disposition': `attachment; filename="${cid.toString()}.${format === 'raw' ? 'bin' : 'car'}"`
  })
  if (format === 'raw') {
    headers.set('content-type', RAW_CONTENT_TYPE)
    headers.set('etag', `"${cid.toString()}.raw"`)
    return new Response(request.method === 'HEAD' ? null : root as Uint8Array<ArrayBuffer>, { headers })
  }
  const scope = url.searchParams.get('dag-scope') ?? 'all'
  if (!['all', 'block', 'entity'].includes(scope)) throw new InvalidInputError('INVALID_DAG_SCOPE', 'dag-scope must be all, entity or block')
  headers.set('content-type', `${CAR_CONTENT_TYPE}; version=1; order=dfs; dups=n`)
  headers.set('etag', `"${cid.toString()}.car.${scope}"`)
  if (request.method === 'HEAD') return new Response(null, { headers })
  const car = scope === 'block' ? exportBlockCar(cid, root) : exportCar(cid, get, options)
  return new Response(streamFromIterator(car), { headers })
}

/** `/ipfs/:cid` as a Hono app over a block source, with the project's error contract. */
export function createGatewayApp (get: (cid: CID) => Promise<Uint8Array | undefined>): Hono {
  const app = new Hono()
  useErrorContract(app, 'gateway')
  app.on(['GET', 'HEAD'], '/ipfs/:cid', async c => gatewayResponse(c.req.raw, c.req.param('cid'), get))
  return app
}
