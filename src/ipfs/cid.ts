import { CID } from 'multiformats/cid'
import { InvalidInputError } from '../shared/errors.ts'

/** A CID from text given by a caller (a route, a stored record): INVALID_CID when it is none. */
export function parseCid (text: string): CID {
  try { return CID.parse(text) } catch { throw new InvalidInputError('INVALID_CID', `not a CID: ${text.slice(0, 100)}`) }
}
