/**
 * A readable cause for anything thrown or rejected, for error details: never `undefined`.
 * Not everything thrown is an Error: @libp2p/webrtc aborts a stream with the data channel's
 * `close` Event when the channel dies before it opens (a peer whose page reloaded).
 */
export function causeOf (err: unknown): string {
  if (err instanceof Error) return err.message !== '' ? err.message : err.name
  if (typeof Event !== 'undefined' && err instanceof Event) {
    const inner = (err as Event & { error?: unknown }).error
    if (inner != null) return causeOf(inner)
    const from = (err.target as object | null)?.constructor?.name ?? 'an event target'
    return `${from} fired "${err.type}" (the peer or its channel went away)`
  }
  if (typeof err === 'string' && err !== '') return err.slice(0, 500)
  if (err == null) return 'failed with no reason given'
  const message = (err as { message?: unknown }).message
  if (typeof message === 'string' && message !== '') return message.slice(0, 500)
  try { return JSON.stringify(err).slice(0, 200) } catch { return Object.prototype.toString.call(err) }
}
