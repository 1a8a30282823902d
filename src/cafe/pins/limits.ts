export const PIN_LIMITS = {
  /** The Pinning Service API's own bounds on a pin object. */
  maxNameLength: 255,
  maxOrigins: 20,
  maxOriginLength: 1024,
  /** meta is the client's; 4 KiB of JSON carries an encrypted file record with room to spare. */
  maxMetaBytes: 4096,
  /** Pins one client may hold: bounds the records a client can make the cafe keep. */
  maxPinsPerClient: 10_000,
  /** The spec's default and maximum page sizes. */
  defaultLimit: 10,
  maxLimit: 1000,
  maxCidFilter: 10,
  /** A pull from one source that takes longer is abandoned and the next source tried. */
  fetchTimeoutMs: 10 * 60_000,
  /**
   * An upload may take this long in all, or as long as its byte cap takes at
   * `uploadMinBytesPerS` if that is longer (a large quota over a slow link): a client
   * trickling just under the idle limit cannot hold an upload slot and its reservation.
   * What it stored by then is kept as for a cut upload: a link slower than that finishes the
   * DAG over several uploads, each sending only what is still missing.
   */
  uploadMs: 10 * 60_000,
  uploadMinBytesPerS: 1024 * 1024,
  /**
   * Uploads, and separately pulls, one client may run at once: each holds a reservation of up
   * to its DAG's size, so a few are plenty for one device and a flood costs little. More
   * uploads are refused (TOO_MANY_UPLOADS, retried); more pulls wait their turn, queued.
   */
  maxActivePerClient: 2,
  /** An upload or pull body silent this long is aborted (a stalled sender holds a reservation). */
  idleMs: 30_000,
  /**
   * A pull's or an upload's CAR may carry, besides the new bytes the quota has left, each block
   * the client already holds once (they cost nothing) and the CAR's framing: this slack over
   * both bounds a body that repeats free blocks, which no reservation would stop.
   */
  pullSlackBytes: 1024 * 1024,
  /**
   * An upload cut before its DAG was whole keeps what arrived (verified, durable, counted
   * against the quota) this long after its last batch: the next upload of that root sends only
   * the rest. Past it, a sweep drops it.
   */
  unfinishedTtlMs: 24 * 60 * 60_000,
  /** Unfinished uploads one client may have kept at once; a new root past it drops the oldest. */
  maxUnfinishedPerClient: 8,
  /** Lost blocks named per pin (the count goes on past it). */
  maxLostKeys: 1000,
  /** CIDs per have/want question (`POST /blocks/missing`): ~100 KiB of JSON. */
  maxMissingQuery: 1024,
  /** Blocks one proof may ask for: a few, chosen at random by the client. */
  maxProofBlocks: 16
} as const

/** The limits a test or a cafe may tighten. */
export interface PinLimits { fetchTimeoutMs: number, uploadMs: number, uploadMinBytesPerS: number, maxActivePerClient: number, idleMs: number, pullSlackBytes: number, unfinishedTtlMs: number }
