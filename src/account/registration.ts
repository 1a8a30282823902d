import { utf8 } from '../shared/bytes.ts'

/**
 * What a client signs with its account key to register: the cafe's peer id binds the
 * signature to one cafe (no replay at another), the nonce to one challenge.
 */
export function registrationMessage (cafePeerId: string, address: string, nonce: string): Uint8Array {
  return utf8.encode(`lightcafe/register/v1\n${cafePeerId}\n${address}\n${nonce}`)
}
