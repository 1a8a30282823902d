import { isReason } from './reasons.ts'
import type { Reason } from './reasons.ts'

export type { Reason } from './reasons.ts'

/**
 * Every failure Lightcafe names is a LightcafeError: a stable `reason` code (one of `Reason`,
 * what clients switch on), the HTTP status it maps to, and text for a person. Subclasses
 * exist per family so code can test `err.name` without string matching.
 */
export class LightcafeError extends Error {
  static override name = 'LightcafeError'
  override name = 'LightcafeError'
  readonly reason: Reason
  readonly status: number

  constructor (reason: Reason, details: string, status = 400, options?: ErrorOptions) {
    super(details, options)
    this.reason = reason
    this.status = status
  }

  toJSON (): { error: { reason: Reason, details: string } } {
    return { error: { reason: this.reason, details: this.message } }
  }
}

/** Bad input: a field is missing, of the wrong type, too large, or malformed. Status 400 (413 for size). */
export class InvalidInputError extends LightcafeError {
  static override name = 'InvalidInputError'
  override name = 'InvalidInputError'
}

/** No valid credentials: missing, malformed, expired or revoked JWT or token. Status 401. */
export class UnauthorizedError extends LightcafeError {
  static override name = 'UnauthorizedError'
  override name = 'UnauthorizedError'
  constructor (reason: Reason, details: string, options?: ErrorOptions) { super(reason, details, 401, options) }
}

/** Valid credentials that do not allow this: wrong scope, wrong peer, another client's data. Status 403. */
export class ForbiddenError extends LightcafeError {
  static override name = 'ForbiddenError'
  override name = 'ForbiddenError'
  constructor (reason: Reason, details: string, options?: ErrorOptions) { super(reason, details, 403, options) }
}

/** The thing named does not exist (or is not the caller's). Status 404. */
export class NotFoundError extends LightcafeError {
  static override name = 'NotFoundError'
  override name = 'NotFoundError'
  constructor (reason: Reason, details: string, options?: ErrorOptions) { super(reason, details, 404, options) }
}

/** The caller is sending too much, too fast. Status 429. */
export class RateLimitedError extends LightcafeError {
  static override name = 'RateLimitedError'
  override name = 'RateLimitedError'
  constructor (reason: Reason, details: string, options?: ErrorOptions) { super(reason, details, 429, options) }
}

/** A dependency is not there yet or went away (no node page, cafe unreachable). Status 503. */
export class UnavailableError extends LightcafeError {
  static override name = 'UnavailableError'
  override name = 'UnavailableError'
  constructor (reason: Reason, details: string, options?: ErrorOptions) { super(reason, details, 503, options) }
}

/** The JSON body every error response carries (the Pinning Service API's error shape). */
export function errorBody (reason: Reason, details: string): { error: { reason: Reason, details: string } } {
  return { error: { reason, details } }
}

/**
 * A refusal one of our APIs answered (its status and parsed body, if any) as a LightcafeError:
 * the body's reason when it is one of ours, else REMOTE_ERROR; the text is `REASON: details`
 * (the status where no reason was given), after who answered when known (`cafe: …`), as the
 * dashboard, the CLI and the client's records show it.
 */
export function refusalError (status: number, body: unknown, who?: string): LightcafeError {
  const error = (body as { error?: { reason?: unknown, details?: unknown } } | null | undefined)?.error
  const said = error?.reason
  const text = `${typeof said === 'string' ? said.slice(0, 64) : status}: ${typeof error?.details === 'string' ? error.details : ''}`
  return new LightcafeError(isReason(said) ? said : 'REMOTE_ERROR', who != null ? `${who}: ${text}` : text, status)
}
