import { fromBase64url, randomBytes, utf8 } from '../shared/bytes.ts'
import { InvalidInputError } from '../shared/errors.ts'

/**
 * Receipts, as Signal's ticks: what the sender sees of each message it sent — queued (on this
 * device), stored at N cafes (their inboxes hold it), delivered (the recipient's device stored
 * it), read (the recipient opened it; only when the recipient turned read receipts on, off by
 * default). A receipt travels as an ordinary envelope from the recipient to the sender: sealed
 * to the sender and signed by the recipient, so nobody else can make or read one, and the
 * sender takes one only from the account it wrote to.
 */

export const RECEIPT_LIMITS = {
  /** Message ids one receipt names (a page collected from a cafe is ≤ 500). */
  maxIds: 500,
  /** Sent messages whose state this device keeps (the newest). */
  keepSent: 1000
} as const

/** What a receipt's plaintext starts with: a NUL no message text may start with (send refuses it). */
export const RECEIPT_MARKER = '\u0000lightcafe/receipt/v1\n'

/**
 * How a sender says it reads receipts: each message it sends has an id whose first 4 base64url
 * characters (3 bytes) are this tag, the other 13 bytes random. A receipt goes only to such a
 * message (and only to a sender this account knows): a client from before receipts would show
 * one as text. Not a field of the envelope or of the contact: both are exact-key signed records
 * that every cafe and older client would refuse with a field they do not know. An older
 * client's random id starts so once in 2^24.
 */
export const RECEIPT_READER_TAG = 'rcpt'

/** A message id (16 bytes) that says its sender reads receipts. */
export function receiptReaderId (): Uint8Array {
  const id = randomBytes(16)
  id.set(fromBase64url(RECEIPT_READER_TAG))
  return id
}

/** Whether a message's sender said it reads receipts. */
export function readsReceipts (id: string): boolean { return id.startsWith(RECEIPT_READER_TAG) }

export type Tick = 'queued' | 'stored' | 'delivered' | 'read'
const ORDER: Tick[] = ['queued', 'stored', 'delivered', 'read']

/** A message this device sent, as its sender sees it. */
export interface SentRecord {
  id: string
  to: string
  created: string
  state: Tick
  /** Cafes whose inbox took it. */
  cafes: string[]
  deliveredAt?: string
  readAt?: string
}

export interface Receipt { kind: 'delivered' | 'read', ids: string[] }

export function encodeReceipt (r: Receipt): Uint8Array {
  return utf8.encode(RECEIPT_MARKER + JSON.stringify({ kind: r.kind, ids: r.ids }))
}

/** The receipt a message's plaintext carries; undefined when it is a message. A malformed receipt is INVALID_ENVELOPE (proven bad). */
export function decodeReceipt (bytes: Uint8Array): Receipt | undefined {
  if (bytes[0] !== 0) return undefined
  const text = utf8.decode(bytes)
  const bad = new InvalidInputError('INVALID_ENVELOPE', 'a malformed receipt')
  if (!text.startsWith(RECEIPT_MARKER)) throw bad
  let r: { kind?: unknown, ids?: unknown }
  try { r = JSON.parse(text.slice(RECEIPT_MARKER.length)) } catch { throw bad }
  if ((r.kind !== 'delivered' && r.kind !== 'read') || !Array.isArray(r.ids) || r.ids.length === 0 || r.ids.length > RECEIPT_LIMITS.maxIds || !r.ids.every(id => typeof id === 'string' && /^[A-Za-z0-9_-]{22}$/.test(id))) throw bad
  return { kind: r.kind, ids: r.ids as string[] }
}

/** A sent message's state moves only forward (a late "stored" never undoes "read"). */
export function advance (rec: SentRecord, state: Tick, at: string, cafes: string[] = []): SentRecord {
  const next: SentRecord = { ...rec, cafes: [...new Set([...rec.cafes, ...cafes])] }
  if (ORDER.indexOf(state) > ORDER.indexOf(rec.state)) next.state = state
  if (state === 'delivered' || state === 'read') next.deliveredAt ??= at
  if (state === 'read') next.readAt ??= at
  return next
}

/** Message ids grouped per account, in chunks a receipt may carry. */
export function receiptChunks (ids: Map<string, string[]>): Array<{ to: string, ids: string[] }> {
  const out: Array<{ to: string, ids: string[] }> = []
  for (const [to, all] of ids) for (let i = 0; i < all.length; i += RECEIPT_LIMITS.maxIds) out.push({ to, ids: all.slice(i, i + RECEIPT_LIMITS.maxIds) })
  return out
}
