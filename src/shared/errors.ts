/**
 * Every failure that crosses an API boundary is a LightcafeError: a stable `reason`
 * code (what clients switch on), the HTTP status it maps to, and text for a person.
 * Subclasses exist per family so code can test `err.name` without string matching.
 */
export class LightcafeError extends Error {
  static override name = 'LightcafeError'
  override name = 'LightcafeError'
  readonly reason: string
  readonly status: number

  constructor (reason: string, details: string, status = 400) {
    super(details)
    this.reason = reason
    this.status = status
  }

  toJSON (): { error: { reason: string, details: string } } {
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
  constructor (reason: string, details: string) { super(reason, details, 401) }
}

/** Valid credentials that do not allow this: wrong scope, wrong peer, another client's data. Status 403. */
export class ForbiddenError extends LightcafeError {
  static override name = 'ForbiddenError'
  override name = 'ForbiddenError'
  constructor (reason: string, details: string) { super(reason, details, 403) }
}

/** The thing named does not exist (or is not the caller's). Status 404. */
export class NotFoundError extends LightcafeError {
  static override name = 'NotFoundError'
  override name = 'NotFoundError'
  constructor (reason: string, details: string) { super(reason, details, 404) }
}

/** The caller is sending too much, too fast. Status 429. */
export class RateLimitedError extends LightcafeError {
  static override name = 'RateLimitedError'
  override name = 'RateLimitedError'
  constructor (reason: string, details: string) { super(reason, details, 429) }
}

/** A dependency is not there yet or went away (no node page, cafe unreachable). Status 503. */
export class UnavailableError extends LightcafeError {
  static override name = 'UnavailableError'
  override name = 'UnavailableError'
  constructor (reason: string, details: string) { super(reason, details, 503) }
}

/** The JSON body every error response carries (the Pinning Service API's error shape). */
export function errorBody (reason: string, details: string): { error: { reason: string, details: string } } {
  return { error: { reason, details } }
}
