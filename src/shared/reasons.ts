/**
 * Every reason code a Lightcafe error carries, and the HTTP status it answers with: one table.
 * `LightcafeError.reason` is one of these and its `status` is read here (a domain error names
 * only its reason), every API refusal's `error.reason` is one, and docs/API.md lists them under
 * "All reasons" (a unit test keeps the two equal). Clients can switch on `Reason` exhaustively.
 * Reasons never answered over HTTP (a health warning, a relay protocol's answer) carry the status
 * they would have. A few reasons answer with another status in one named case (`CASE_STATUS`).
 */
export const REASON_STATUS = {
  ACCOUNT_HAS_SESSIONS: 409,
  BACKUP_NOT_FOUND: 404,
  BAD_HEADERS: 400,
  BAD_METHOD: 400,
  BAD_REQUEST: 400,
  BAD_RESPONSE: 502,
  BAD_SIGNATURE: 400,
  BAD_URL: 400,
  BLOCKS_LOST: 502,
  BLOCK_MISMATCH: 400,
  BLOCK_MISSING: 404,
  BLOCK_NOT_FOUND: 404,
  BLOCK_TOO_LARGE: 400,
  BODY_ABANDONED: 502,
  BODY_TIMEOUT: 504,
  BODY_TOO_LARGE: 413,
  BOX_TOO_LARGE: 413,
  BRIDGE_ERROR: 502,
  CAFE_DISABLED: 503,
  CAFE_NOT_FOUND: 404,
  CAFE_SILENT: 504,
  CAFE_UNREACHABLE: 503,
  CAR_HEADER_TOO_LARGE: 400,
  CAR_ROOTS: 400,
  CA_KEY_MISMATCH: 500,
  CA_UNREADABLE: 500,
  CHALLENGES_BUSY: 503,
  CLIENT_NOT_FOUND: 404,
  CLIENT_REMOVED: 403,
  CLOCK_SKEW: 409,
  CONTACT_NOT_FOUND: 404,
  CONTACT_NOT_YOURS: 403,
  CONTACT_STALE: 409,
  CROSS_SITE_REFUSED: 403,
  DAG_INCOMPLETE: 400,
  DAG_NOT_LOCAL: 404,
  DAG_TOO_LARGE: 400,
  DEAD_CONNECTION: 503,
  DECRYPTION_FAILED: 400,
  DIRECTORY_FULL: 503,
  ENVELOPE_TOO_OLD: 400,
  FILE_NOT_FOUND: 404,
  FILE_TOO_LARGE: 413,
  FORBIDDEN: 403,
  HEADERS_TOO_LARGE: 400,
  HEAD_TIMEOUT: 504,
  HEAD_TOO_LARGE: 502,
  INBOX_FULL: 413,
  INTERNAL: 500,
  INVALID_ADDRESS: 400,
  INVALID_BOX_KEY: 400,
  INVALID_CAFE: 400,
  INVALID_CAR: 400,
  INVALID_CID: 400,
  INVALID_CONTACT: 400,
  INVALID_CONTENT_TYPE: 400,
  INVALID_DAG_SCOPE: 400,
  INVALID_ENVELOPE: 400,
  INVALID_FIELD: 400,
  INVALID_FORMAT: 400,
  INVALID_HOPS: 400,
  INVALID_JSON: 400,
  INVALID_LIMIT: 400,
  INVALID_MNEMONIC: 400,
  INVALID_ORIGIN: 400,
  INVALID_PEER: 400,
  INVALID_QUERY: 400,
  INVALID_QUERY_ID: 400,
  INVALID_SECRET_KEY: 400,
  INVALID_SNAPSHOT_ID: 400,
  INVALID_STATUS: 400,
  INVALID_THREAD_ID: 400,
  INVALID_TOKEN: 400,
  INVALID_WAIT: 400,
  JWT_BAD_ALG: 401,
  JWT_BAD_SIGNATURE: 401,
  JWT_EXPIRED: 401,
  JWT_INVALID: 401,
  JWT_MISSING: 401,
  JWT_WRONG_AUDIENCE: 401,
  JWT_WRONG_ISSUER: 401,
  MALFORMED_FRAME: 502,
  MALFORMED_HEAD: 502,
  MESSAGE_NOT_FOUND: 404,
  MESSAGE_TOO_LARGE: 413,
  META_TOO_LARGE: 400,
  METHOD_NOT_ALLOWED: 405,
  MISSING_BLOCKS: 502,
  NODE_NOT_READY: 503,
  NONCE_INVALID: 401,
  NOT_ACCEPTABLE: 406,
  NOT_BUILT: 500,
  NOT_FOUND: 404,
  NO_CAFES: 409,
  NO_PROFILE: 404,
  NO_RECOVERY: 404,
  OWNER_SECRET_REQUIRED: 401,
  PEER_ABSENT: 503,
  PEER_GONE: 503,
  PEER_MISMATCH: 403,
  PEER_UNREACHABLE: 503,
  PIN_EXISTS: 409,
  PIN_FAILED: 500,
  PIN_NOT_FOUND: 404,
  PIN_REMOVED: 409,
  PROOF_FAILED: 502,
  PROTOCOL_UNSUPPORTED: 501,
  PULL_IDLE: 408,
  QUOTA_EXCEEDED: 413,
  RATE_LIMITED: 429,
  RECOVERY_FAILED: 500,
  RECOVERY_INCOMPLETE: 502,
  REFRESH_REUSED: 401,
  REGISTRATION_CLOSED: 403,
  REMOTE_ERROR: 502,
  SEARCH_FAILED: 502,
  SEND_TIMEOUT: 504,
  SERVICE_WORKER_UNAVAILABLE: 503,
  SESSION_ENDED: 401,
  SESSION_MISMATCH: 401,
  SINGLE_CAFE: 409,
  SNAPSHOT_NOT_FOUND: 404,
  SNAPSHOT_TOO_LARGE: 413,
  STORAGE_ERROR: 500,
  STORAGE_FULL: 507,
  STORAGE_NOT_PERSISTENT: 507,
  STREAM_CLOSED: 502,
  STREAM_LINGERED: 502,
  THREAD_NOT_FOUND: 404,
  TOKEN_INVALID: 401,
  TOKEN_NOT_FOUND: 404,
  TOKEN_REVOKED: 401,
  TOKEN_USED: 403,
  TOO_MANY_CONNECTIONS: 503,
  TOO_MANY_LISTINGS: 429,
  TOO_MANY_PINS: 413,
  TOO_MANY_SNAPSHOTS: 413,
  TOO_MANY_UPLOADS: 429,
  UNEXPECTED_END: 400,
  UNEXPECTED_FRAME: 502,
  UNKNOWN_OP: 400,
  UNKNOWN_RECIPIENT: 404,
  UNREACHABLE: 503,
  UNSUPPORTED_CODEC: 400,
  UNSUPPORTED_HASH: 400,
  UPLOAD_IDLE: 408,
  UPLOAD_TIMEOUT: 408,
  URL_TOO_LONG: 400,
  WATCH_FULL: 503,
  WEBRTC_UNAVAILABLE: 503,
  WRONG_SCOPE: 401
} as const satisfies Record<string, number>

export type Reason = keyof typeof REASON_STATUS

/** Every reason, in the table's (alphabetical) order. */
export const REASONS = Object.keys(REASON_STATUS) as Reason[]

/** Whether a string (a remote peer's `error.reason`) is one of ours. */
export function isReason (value: unknown): value is Reason {
  return typeof value === 'string' && Object.hasOwn(REASON_STATUS, value)
}

/**
 * The few cases where a reason answers with another status than its own, named by the error
 * that raises it (`{ as: 'tooLarge' }`): older peers and clients read these reasons with these
 * statuses, so the wire keeps both rather than growing a reason per case.
 */
export const CASE_STATUS = {
  /** A record refused for its size, named by what it is (INVALID_ENVELOPE, INVALID_CONTACT, a batch's INVALID_FIELD, a thread's META_TOO_LARGE). */
  tooLarge: 413,
  /** A signature that is the caller's credential (a registration's BAD_SIGNATURE). */
  credential: 401,
  /** A peer's answer, not the caller's request, is at fault (a response's INVALID_JSON). */
  peerAnswer: 502,
  /** This side failed to pass the request on (the service worker's BRIDGE_ERROR before the page had it). */
  ownFault: 500
} as const satisfies Record<string, number>

export type StatusCase = keyof typeof CASE_STATUS

/** The HTTP status a reason answers with (in `as`, a named case's). */
export function statusOf (reason: Reason, as?: StatusCase): number {
  return as != null ? CASE_STATUS[as] : REASON_STATUS[reason]
}
