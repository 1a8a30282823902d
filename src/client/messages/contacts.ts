import { isNewer, signContact, verifyContact } from '../../contacts/index.ts'
import { toBase64url } from '../../shared/bytes.ts'
import { InvalidInputError, NotFoundError } from '../../shared/errors.ts'
import { activeCafes, cafeApi, peerApi } from './components.ts'
import type { MessagesComponents } from './components.ts'
import type { Contact } from '../../contacts/index.ts'

// Contacts: this account's own (signed, published to its cafes) and those it writes to (looked
// up, verified, cached).

export async function profile (c: MessagesComponents): Promise<Contact | undefined> {
  return (await (await c.db).get('profile', 'me')) as Contact | undefined
}

/** Signs this account's contact (name, this peer, its inbox cafes, its box key) and publishes it to every cafe; a `profile` event follows its storing. */
export async function setProfile (c: MessagesComponents, name: unknown): Promise<{ contact: Contact, published: string[] }> {
  if (typeof name !== 'string') throw new InvalidInputError('INVALID_FIELD', 'name must be a string')
  const cafes = await activeCafes(c)
  const contact = signContact(c.init.account(), { name, peers: [c.init.peerId], inboxes: cafes, box: toBase64url(c.box().publicKey) }, c.now())
  await (await c.db).put('profile', contact, 'me')
  c.tell('profile')
  const published: string[] = []
  await Promise.all(cafes.map(async id => { if (await c.init.client.api(id).publishContact(contact)) published.push(id) }))
  return { contact, published }
}

/** A verified contact: from the cache, this account's cafes, or the peers connected now. */
export async function contactOf (c: MessagesComponents, address: string, opts: { refresh?: boolean } = {}): Promise<Contact> {
  const cached = await (await c.db).get('contacts', address)
  if (cached != null && opts.refresh !== true) return cached
  const cafes = await activeCafes(c)
  let best = cached
  const asks = [
    ...cafes.map(id => async () => cafeApi(c, id).contact(address)),
    ...(await c.init.connectedPeers()).filter(p => !cafes.includes(p)).map(id => async () => peerApi(c, id).contact())
  ]
  await Promise.all(asks.map(async ask => {
    try {
      const found = verifyContact(await ask())
      if (found.address === address && (best == null || isNewer(found, best))) best = found
    } catch { /* one source less */ }
  }))
  if (best == null) throw new NotFoundError('CONTACT_NOT_FOUND', `no contact for ${address} at this account's cafes or connected peers`)
  return remember(c, best)
}

/** Keeps the newer of a contact and the one held. */
async function remember (c: MessagesComponents, contact: Contact): Promise<Contact> {
  const db = await c.db
  const held = await db.get('contacts', contact.address)
  if (held == null || isNewer(contact, held)) { await db.put('contacts', contact); return contact }
  return held
}
