/**
 * Session limits, each with the reason it has this value.
 *
 * Access-token policy (kept here so the numbers and the rules sit together):
 * - a token registers ONE account: the first successful registration binds it; that account
 *   may register again with it (new device, or after deregistering), any other gets 403 TOKEN_USED;
 * - revoking a token stops new registrations with it, and does NOT end the sessions of the
 *   client it already registered: the owner removes that client to end them. Revocation is
 *   "hand out no more", removal is "throw this client out"; two separate owner actions.
 */
export const SESSION_LIMITS = {
  /** Access JWTs are short-lived: a leaked one is worth minutes. */
  accessTtlS: 15 * 60,
  /** Refresh JWTs outlive a few weeks offline; they rotate on every use. */
  refreshTtlS: 30 * 24 * 3600,
  /**
   * A refresh token just rotated may be used once more within this window and get the same new
   * pair: its answer was lost (a dropped link, a reload before the client wrote it). Later, a
   * reuse ends the session. Clients retry a failed refresh within seconds.
   */
  refreshGraceMs: 60_000,
  /** One registration round trip; a slow mobile link still fits. */
  nonceTtlMs: 2 * 60_000,
  /** Pending challenges kept at most; the oldest is dropped first, so strangers cannot fill memory. */
  maxPendingNonces: 10_000,
  /** Challenge nonces: 128 random bits cannot be guessed within their two minutes. */
  nonceBytes: 16,
  /** Session-route bodies are tiny (< 1 KiB); 64 KiB bounds parsing. */
  maxJsonBody: 64 * 1024,
  /** Access-token secret entropy, in bytes (256 bits: SHA-256 of it is safe to store, see tokens.ts). */
  tokenSecretBytes: 32,
  /** Token ids: unguessable, short enough to show in a list. */
  tokenIdBytes: 12,
  /** Longest JWT accepted before parsing; ours are ~500 characters. */
  maxJwtLength: 4096,
  /** lastSeen is written at most this often per client, not on every request. */
  lastSeenEveryMs: 60_000,
  /** Sessions cached in memory by the host; far above a LAN cafe's clients, small in memory. */
  sessionCacheSize: 10_000,
  /** jose's clock tolerance for exp/iat: clocks of the same device barely drift. */
  clockToleranceS: 5
} as const
