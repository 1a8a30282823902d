import { isReason, statusOf } from './reasons.ts'
import type { Reason, StatusCase } from './reasons.ts'

export type { Reason, StatusCase } from './reasons.ts'

/** An error's cause, and the named case whose status it answers with where not its reason's (`CASE_STATUS`). */
export interface LightcafeErrorOptions extends ErrorOptions { as?: StatusCase }

/**
 * Every failure Lightcafe names is a LightcafeError: a stable `reason` code (one of `Reason`,
 * what clients switch on) and text for a person; the HTTP status it answers with is the
 * reason's, from the one table (`REASON_STATUS`, src/shared/reasons.ts). Subclasses exist per
 * family so code can test `err.name` without string matching.
 */
export class LightcafeError extends Error {
  static override name = 'LightcafeError'
  override name = 'LightcafeError'
  readonly reason: Reason
  /** The HTTP status this error answers with: its reason's, or its named case's. */
  readonly status: number

  constructor (reason: Reason, details: string, options?: LightcafeErrorOptions) {
    super(details, options)
    this.reason = reason
    this.status = statusOf(reason, options?.as)
  }

  toJSON (): { error: { reason: Reason, details: string } } {
    return { error: { reason: this.reason, details: this.message } }
  }
}

/** Bad input: a field is missing, of the wrong type, too large, or malformed (400; 413 for the size reasons and `{ as: 'tooLarge' }`). */
export class InvalidInputError extends LightcafeError {
  static override name = 'InvalidInputError'
  override name = 'InvalidInputError'
}

/** No valid credentials: missing, malformed, expired or revoked JWT or token (401). */
export class UnauthorizedError extends LightcafeError {
  static override name = 'UnauthorizedError'
  override name = 'UnauthorizedError'
}

/** Valid credentials that do not allow this: wrong scope, wrong peer, another client's data (403). */
export class ForbiddenError extends LightcafeError {
  static override name = 'ForbiddenError'
  override name = 'ForbiddenError'
}

/** The thing named does not exist (or is not the caller's) (404). */
export class NotFoundError extends LightcafeError {
  static override name = 'NotFoundError'
  override name = 'NotFoundError'
}

/** The caller is sending too much, too fast (429). */
export class RateLimitedError extends LightcafeError {
  static override name = 'RateLimitedError'
  override name = 'RateLimitedError'
}

/** A dependency is not there yet or went away (no node page, cafe unreachable) (503). */
export class UnavailableError extends LightcafeError {
  static override name = 'UnavailableError'
  override name = 'UnavailableError'
}

/**
 * A refusal another peer answered, as read back: its reason (when one of ours) and the status
 * it answered with (for a reason of ours the table's, unless the peer is of another version).
 */
export class RefusalError extends LightcafeError {
  static override name = 'RefusalError'
  override name = 'RefusalError'
  override readonly status: number
  constructor (reason: Reason, details: string, status: number) { super(reason, details); this.status = status }
}

/** The JSON body every error response carries (the Pinning Service API's error shape). */
export function errorBody (reason: Reason, details: string): { error: { reason: Reason, details: string } } {
  return { error: { reason, details } }
}

/** A refusal as an HTTP answer: the error body, with its reason's status. */
export function refusalResponse (reason: Reason, details: string): Response {
  return Response.json(errorBody(reason, details), { status: statusOf(reason) })
}

/**
 * A refusal one of our APIs answered (its status and parsed body, if any) as a LightcafeError:
 * the body's reason when it is one of ours, else REMOTE_ERROR; the text is `REASON: details`
 * (the status where no reason was given), after who answered when known (`cafe: …`), as the
 * dashboard, the CLI and the client's records show it.
 */
export function refusalError (status: number, body: unknown, who?: string): RefusalError {
  const error = (body as { error?: { reason?: unknown, details?: unknown } } | null | undefined)?.error
  const said = error?.reason
  const text = `${typeof said === 'string' ? said.slice(0, 64) : status}: ${typeof error?.details === 'string' ? error.details : ''}`
  return new RefusalError(isReason(said) ? said : 'REMOTE_ERROR', who != null ? `${who}: ${text}` : text, status)
}
