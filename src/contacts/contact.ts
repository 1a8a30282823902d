import type { Account } from '../account/account.ts'
import { isAddress, verifyAccountSignature, verifyAccountSignatureSync } from '../account/account.ts'
import { BOX } from '../account/box.ts'
import { toBase64url, utf8 } from '../shared/bytes.ts'
import { InvalidInputError } from '../shared/errors.ts'
import { BadSignatureError, base64urlOf, exactObject, isoTimestamp, peerIdList } from './validate.ts'

/**
 * A contact: what an account publishes so others can find and message it. Public by design;
 * signed by the account, so a cafe or peer that relays it cannot change it.
 */
export interface Contact {
  /** The account address (z6Mk…): it names the key that signs this contact. */
  readonly address: string
  /** A display name: 1 to 64 characters, trimmed, no control characters. */
  readonly name: string
  /** libp2p peer ids of the account's devices. */
  readonly peers: readonly string[]
  /** Peer ids of the cafes that keep an inbox for this account. */
  readonly inboxes: readonly string[]
  /** base64url of the account's X25519 public key (see boxKeyPair): messages are sealed to it. */
  readonly box: string
  /** When the owner wrote this version: the newer one wins (isNewer). */
  readonly updated: string
  /** base64url Ed25519 signature by `address` over contactSigningBytes. */
  readonly sig: string
}

/** What the owner chooses; address and sig come from the account. `updated` defaults to now. */
export interface ContactFields {
  name: string
  peers: readonly string[]
  inboxes: readonly string[]
  box: string
  updated?: string
}

export const CONTACT_LIMITS = {
  /** Whole contact as JSON (UTF-8): small enough to gossip and to keep thousands of. */
  maxBytes: 4 * 1024,
  /** Name length in Unicode code points. */
  maxNameChars: 64,
  /** A person has a few devices; more is a sign of abuse. */
  maxPeers: 8,
  maxInboxes: 8,
  /** Canonical Ed25519 peer ids are 52 characters; bounds the input before parsing it. */
  maxPeerIdLength: 64,
  /** Device clocks drift; a contact dated further ahead is refused rather than winning forever. */
  maxFutureSkewMs: 10 * 60_000
} as const

export type ContactLimits = { readonly [K in keyof typeof CONTACT_LIMITS]: number }

const REASON = 'INVALID_CONTACT'
const KEYS = ['address', 'name', 'peers', 'inboxes', 'box', 'updated', 'sig'] as const
const PREFIX = 'lightcafe/contact/v1\n'
/**
 * Control characters, line/paragraph separators, bidi overrides and isolates (which can make a
 * name display as another), and unpaired surrogates (which do not survive UTF-8).
 */
const FORBIDDEN_IN_NAME = /[\p{Cc}\p{Zl}\p{Zp}\p{Cs}\u202A-\u202E\u2066-\u2069]/u

/**
 * The bytes an account signs: "lightcafe/contact/v1\n" followed by the JSON of
 * { address, name, peers, inboxes, box, updated } with exactly that key order and no spaces.
 * Every field is a string or an array of strings, so JSON.stringify is deterministic here.
 */
export function contactSigningBytes (contact: Omit<Contact, 'sig'>): Uint8Array {
  const { address, name, peers, inboxes, box, updated } = contact
  return utf8.encode(PREFIX + JSON.stringify({ address, name, peers, inboxes, box, updated }))
}

function contactName (value: unknown, maxChars: number): string {
  // A cheap bound on UTF-16 length first: a code point is at most 2 units.
  if (typeof value !== 'string' || value.length > maxChars * 2) throw new InvalidInputError(REASON, `name must be a string of 1 to ${maxChars} characters`)
  const chars = [...value].length
  if (chars === 0 || chars > maxChars) throw new InvalidInputError(REASON, `name must be 1 to ${maxChars} characters`)
  if (value.trim() !== value) throw new InvalidInputError(REASON, 'name must not start or end with spaces')
  if (FORBIDDEN_IN_NAME.test(value)) throw new InvalidInputError(REASON, 'name must not contain control characters')
  return value
}

/** Signs the owner's fields as this account; throws InvalidInputError(INVALID_CONTACT) for fields verifyContact would refuse. */
export function signContact (account: Pick<Account, 'address' | 'sign'>, fields: ContactFields, now: number = Date.now()): Contact {
  const unsigned = {
    address: account.address,
    name: typeof fields.name === 'string' ? fields.name.trim() : fields.name,
    peers: [...fields.peers],
    inboxes: [...fields.inboxes],
    box: fields.box,
    updated: fields.updated ?? new Date(now).toISOString()
  }
  const contact = { ...unsigned, sig: toBase64url(account.sign(contactSigningBytes(unsigned))) }
  // Verify what was made: a contact that other peers would refuse is an error here, not later.
  return verifyContact(contact, CONTACT_LIMITS, now)
}

/**
 * Checks an untrusted value (e.g. parsed JSON) is a well-formed contact signed by its address.
 * Returns a fresh object holding only the contact's fields. Throws InvalidInputError with
 * reason INVALID_CONTACT (413 when too large), or BadSignatureError (BAD_SIGNATURE).
 */
export function verifyContact (value: unknown, limits: ContactLimits = CONTACT_LIMITS, now: number = Date.now()): Contact {
  const { contact, signature } = wellFormedContact(value, limits, now)
  if (!verifyAccountSignatureSync(contact.address, contactSigningBytes(contact), signature)) throw badSignature()
  return contact
}

/**
 * verifyContact with the signature checked by WebCrypto where it can (off the main thread:
 * noble's JavaScript check cost ~2.4 ms a contact, 30 of them in a 6-cafe search's answers).
 * Same rule, same errors.
 */
export async function verifyContactAsync (value: unknown, limits: ContactLimits = CONTACT_LIMITS, now: number = Date.now()): Promise<Contact> {
  const { contact, signature } = wellFormedContact(value, limits, now)
  if (!await verifyAccountSignature(contact.address, contactSigningBytes(contact), signature)) throw badSignature()
  return contact
}

const badSignature = (): BadSignatureError => new BadSignatureError('the contact is not signed by its address')

/** Every check of verifyContact but the signature's. */
function wellFormedContact (value: unknown, limits: ContactLimits, now: number): { contact: Contact, signature: Uint8Array } {
  const record = exactObject(REASON, 'contact', value, KEYS)
  if (!isAddress(record.address)) throw new InvalidInputError(REASON, 'address must be an account address (z6Mk…)')
  base64urlOf(REASON, 'box', record.box, BOX.keyBytes)
  isoTimestamp(REASON, 'updated', record.updated, now, limits.maxFutureSkewMs)
  const signature = base64urlOf(REASON, 'sig', record.sig, 64)
  const contact: Contact = {
    address: record.address,
    name: contactName(record.name, limits.maxNameChars),
    peers: peerIdList(REASON, 'peers', record.peers, limits.maxPeers, limits.maxPeerIdLength),
    inboxes: peerIdList(REASON, 'inboxes', record.inboxes, limits.maxInboxes, limits.maxPeerIdLength),
    // Checked just above.
    box: record.box as string,
    updated: record.updated as string,
    sig: record.sig as string
  }
  const size = utf8.encode(JSON.stringify(contact)).length
  if (size > limits.maxBytes) throw new InvalidInputError(REASON, `a contact is limited to ${limits.maxBytes} bytes (this one is ${size})`, { as: 'tooLarge' })
  return { contact, signature }
}

/** True when `a` is a later version of the same account's contact than `b` (a tie is not newer). */
export function isNewer (a: Contact, b: Contact): boolean {
  return a.address === b.address && Date.parse(a.updated) > Date.parse(b.updated)
}
