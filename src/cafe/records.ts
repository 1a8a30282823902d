/** An access token as the cafe keeps it (below both the store and the token rules, which share it). */
export interface TokenRecord {
  id: string
  /** base64url SHA-256 of the secret; the secret itself is never stored. */
  hash: string
  created: string
  revoked?: string
  /** The account this token registered: a token serves one account. */
  usedBy?: string
  /** Set with `revoked` when the owner removed the client this token registered: it stays out. */
  removed?: string
}
