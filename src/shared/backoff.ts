/** An exponential backoff: the wait before retry `attempt` (0 = the first retry). */
export interface Backoff {
  firstMs: number
  /** No wait is longer (default: unbounded, for callers that stop after a few attempts). */
  maxMs?: number
  /** Growth per attempt (default 2: doubling). */
  factor?: number
}

/** firstMs × factor^attempt, capped at maxMs. */
export function backoff (attempt: number, { firstMs, maxMs = Infinity, factor = 2 }: Backoff): number {
  return Math.min(maxMs, firstMs * factor ** Math.max(0, attempt))
}
