/** Session limits, each with the reason it has this value. */
export const SESSION_LIMITS = {
  /** Access JWTs are short-lived: a leaked one is worth minutes. */
  accessTtlS: 15 * 60,
  /** Refresh JWTs outlive a few weeks offline; they rotate on every use. */
  refreshTtlS: 30 * 24 * 3600,
  /** One registration round trip; a slow mobile link still fits. */
  nonceTtlMs: 2 * 60_000,
  /** Pending challenges kept at most; the oldest is dropped first, so strangers cannot fill memory. */
  maxPendingNonces: 10_000,
  /** Session-route bodies are tiny (< 1 KiB); 64 KiB bounds parsing. */
  maxJsonBody: 64 * 1024,
  /** Access-token secret entropy, in bytes. */
  tokenSecretBytes: 32,
  /** lastSeen is written at most this often per client, not on every request. */
  lastSeenEveryMs: 60_000,
  /** Sessions cached in memory by the host; far above a LAN cafe's clients, small in memory. */
  sessionCacheSize: 10_000,
  /** jose's clock tolerance for exp/iat: clocks of the same device barely drift. */
  clockToleranceS: 5
} as const
