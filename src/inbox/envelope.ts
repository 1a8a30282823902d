import type { Account } from '../account/account.ts'
import { isAddress, verifyAccountSignature } from '../account/account.ts'
import { BOX, BOX_OVERHEAD, open, seal } from '../account/box.ts'
import type { Contact } from '../contacts/contact.ts'
import { BadSignatureError, base64urlOf, exactObject, isoTimestamp } from '../contacts/validate.ts'
import { base64urlLength, fromBase64url, randomBytes, toBase64url, utf8 } from '../shared/bytes.ts'
import { InvalidInputError } from '../shared/errors.ts'

/**
 * A store-and-forward message. The cafe keeping the recipient's inbox sees only the metadata
 * (id, from, to, created, sizes); the body is a sealed box only the recipient can open.
 * The sender signs everything, so a cafe cannot alter, re-address or re-attribute it.
 */
export interface Envelope {
  /** base64url of 16 random bytes; unique per sender (dedupe by from + id, see dedupe.ts). */
  readonly id: string
  /** Sender's account address: the key that signs. */
  readonly from: string
  /** Recipient's account address. */
  readonly to: string
  readonly created: string
  /** base64url of the sealed box (src/account/box.ts) holding the message. */
  readonly body: string
  /** base64url Ed25519 signature by `from` over envelopeSigningBytes. */
  readonly sig: string
}

export const ENVELOPE_LIMITS = {
  /** Whole envelope as JSON: a full box (32 KiB of plaintext) fits after base64url. */
  maxBytes: 64 * 1024,
  /** 128 random bits: ids never collide by chance. */
  idBytes: 16,
  /** Device clocks drift, some by many minutes (a phone off the network): further ahead than this is refused. */
  maxFutureSkewMs: 60 * 60_000
} as const

export type EnvelopeLimits = { readonly [K in keyof typeof ENVELOPE_LIMITS]: number }

const REASON = 'INVALID_ENVELOPE'
const KEYS = ['id', 'from', 'to', 'created', 'body', 'sig'] as const
const PREFIX = 'lightcafe/envelope/v1\n'

/**
 * The bytes the sender signs: "lightcafe/envelope/v1\n" followed by the JSON of
 * { id, from, to, created, body } with exactly that key order and no spaces.
 */
export function envelopeSigningBytes (envelope: Omit<Envelope, 'sig'>): Uint8Array {
  const { id, from, to, created, body } = envelope
  return utf8.encode(PREFIX + JSON.stringify({ id, from, to, created, body }))
}

/**
 * Associated data of the box: the same prefix and { id, from, to, created }. It binds the
 * sealed body to this envelope, so nobody can lift a body into an envelope they sign
 * themselves and pass someone else's words off as theirs: it would not open.
 */
function boxContext (envelope: Pick<Envelope, 'id' | 'from' | 'to' | 'created'>): Uint8Array {
  const { id, from, to, created } = envelope
  return utf8.encode(PREFIX + JSON.stringify({ id, from, to, created }))
}

/**
 * Seals `plaintext` (≤ BOX.maxPlaintextBytes) to the recipient's contact and signs it as the
 * sender. `id`: its 16 bytes when the caller chose them (random otherwise).
 */
export async function createEnvelope (sender: Pick<Account, 'address' | 'sign'>, recipient: Pick<Contact, 'address' | 'box'>, plaintext: Uint8Array, now: number = Date.now(), options: { id?: Uint8Array } = {}): Promise<Envelope> {
  if (!isAddress(recipient.address)) throw new InvalidInputError(REASON, 'the recipient address is not an account address')
  const boxKey = base64urlOf('INVALID_CONTACT', 'box', recipient.box, BOX.keyBytes)
  const head = {
    id: toBase64url(options.id ?? randomBytes(ENVELOPE_LIMITS.idBytes)),
    from: sender.address,
    to: recipient.address,
    created: new Date(now).toISOString()
  }
  const unsigned = { ...head, body: toBase64url(await seal(boxKey, plaintext, boxContext(head))) }
  const envelope = { ...unsigned, sig: toBase64url(sender.sign(envelopeSigningBytes(unsigned))) }
  // Verify what was made: an envelope cafes would refuse is an error here, not later.
  return await verifyEnvelope(envelope, ENVELOPE_LIMITS, now)
}

/**
 * Checks an untrusted value (e.g. parsed JSON) is a well-formed envelope signed by `from`.
 * Cheap checks (types, lengths) come before decoding and the signature check. Returns a fresh
 * object holding only the envelope's fields. Throws InvalidInputError with reason
 * INVALID_ENVELOPE (413 when too large), or BadSignatureError (BAD_SIGNATURE).
 */
export async function verifyEnvelope (value: unknown, limits: EnvelopeLimits = ENVELOPE_LIMITS, now: number = Date.now()): Promise<Envelope> {
  const record = exactObject(REASON, 'envelope', value, KEYS)
  const { id, from, to, created, body, sig } = record
  base64urlOf(REASON, 'id', id, limits.idBytes)
  if (!isAddress(from)) throw new InvalidInputError(REASON, 'from must be an account address (z6Mk…)')
  if (!isAddress(to)) throw new InvalidInputError(REASON, 'to must be an account address (z6Mk…)')
  isoTimestamp(REASON, 'created', created, now, limits.maxFutureSkewMs)
  if (typeof body !== 'string') throw new InvalidInputError(REASON, 'body must be a base64url string')
  const signature = base64urlOf(REASON, 'sig', sig, 64)
  // id, created and sig were checked just above.
  const envelope: Envelope = { id: id as string, from, to, created: created as string, body, sig: sig as string }
  // Every field is ASCII by now, so string length is the encoded size.
  const size = JSON.stringify(envelope).length
  if (size > limits.maxBytes) throw new InvalidInputError(REASON, `an envelope is limited to ${limits.maxBytes} bytes (this one is ${size})`, { as: 'tooLarge' })
  // The body's shape without decoding it (only the recipient opens it): its length, then its first byte.
  const sealedBytes = base64urlLength(body)
  if (sealedBytes == null) throw new InvalidInputError(REASON, 'body is not canonical base64url')
  if (sealedBytes < BOX_OVERHEAD || sealedBytes > BOX_OVERHEAD + BOX.maxPlaintextBytes || fromBase64url(body.slice(0, 4))[0] !== BOX.version) {
    throw new InvalidInputError(REASON, 'body is not a sealed box')
  }
  if (!(await verifyAccountSignature(from, envelopeSigningBytes(envelope), signature))) {
    throw new BadSignatureError('the envelope is not signed by its sender')
  }
  return envelope
}

/**
 * The message inside a verified envelope, for the holder of its recipient's box secret
 * (boxKeyPair(account.secretKey).secretKey). Throws BoxOpenError (DECRYPTION_FAILED) when it
 * does not open: wrong recipient, or a body taken from another envelope.
 */
export async function openEnvelope (recipientBoxSecret: Uint8Array, envelope: Envelope): Promise<Uint8Array> {
  let sealed: Uint8Array
  try { sealed = fromBase64url(envelope.body) } catch { throw new InvalidInputError(REASON, 'body is not base64url') }
  return open(recipientBoxSecret, sealed, boxContext(envelope))
}
