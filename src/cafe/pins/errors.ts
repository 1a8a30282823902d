import { LightcafeError } from '../../shared/errors.ts'

/** The client already has as many uploads running as it may; it retries later. */
export class TooManyUploadsError extends LightcafeError {
  static override name = 'TooManyUploadsError'
  override name = 'TooManyUploadsError'
  constructor (max: number) { super('TOO_MANY_UPLOADS', `a client may run at most ${max} uploads at once; retry when one has finished`) }
}

/** An upload or pull body that sent nothing for too long: aborted, and nothing of it kept. */
export class BodyIdleError extends LightcafeError {
  static override name = 'BodyIdleError'
  override name = 'BodyIdleError'
  constructor (reason: 'UPLOAD_IDLE' | 'PULL_IDLE', ms: number) { super(reason, `the body sent nothing for ${Math.round(ms / 1000)} s; aborted`) }
}

/** An upload that took longer in all than its bytes may (see PIN_LIMITS.uploadMs): aborted; what it stored is kept for the next upload of its root. */
export class UploadTimeoutError extends LightcafeError {
  static override name = 'UploadTimeoutError'
  override name = 'UploadTimeoutError'
  constructor (ms: number) { super('UPLOAD_TIMEOUT', `the upload took more than ${Math.round(ms / 1000)} s in all; aborted`) }
}

/** The owner removed the client while its upload or pull ran: it is aborted and nothing kept. */
export class ClientRemovedError extends LightcafeError {
  static override name = 'ClientRemovedError'
  override name = 'ClientRemovedError'
  constructor () { super('CLIENT_REMOVED', 'the cafe owner removed this client; it may register again only with a new invitation') }
}
