import type { Wake } from '../shared/wake.ts'
import type { Connection, Libp2p } from '@libp2p/interface'

export interface NetworkSources {
  /** Fires `online` when the device's network comes back (a window; absent in Node). */
  events?: EventTarget
  /** Fires `change` when the network changes (the Network Information API, Chromium); a change of its `type` wakes. */
  connection?: EventTarget
  /** This host's addresses now (Node, which has no `online` event): polled, and a change wakes. */
  addresses?: () => string[]
  /** How often `addresses` is read (default 2 s). */
  pollMs?: number
}

/**
 * Wakes every backoff when the device's own network changes for the better: the browser's
 * `online`, a new kind of network, a change of local addresses. Returns the function that stops.
 */
export function watchNetwork (wake: Wake, sources: NetworkSources): () => void {
  const stops: Array<() => void> = []
  const listen = (target: EventTarget | undefined, type: string, fn: () => void): void => {
    if (typeof target?.addEventListener !== 'function') return
    target.addEventListener(type, fn)
    stops.push(() => { target.removeEventListener(type, fn) })
  }
  listen(sources.events, 'online', () => { wake.notify('online') })
  // Only a new kind of network (Wi-Fi to cellular): `change` also fires for every new estimate of its speed.
  const typeOf = (): unknown => (sources.connection as { type?: unknown } | undefined)?.type
  let type = typeOf()
  listen(sources.connection, 'change', () => {
    const now = typeOf()
    if (now !== type) { type = now; wake.notify('network') }
  })
  if (sources.addresses != null) {
    const read = sources.addresses
    let last = [...read()].sort().join(' ')
    const timer = setInterval(() => {
      const now = [...read()].sort().join(' ')
      if (now !== last) { last = now; wake.notify('addresses') }
    }, sources.pollMs ?? 2_000)
    ;(timer as { unref?: () => void }).unref?.()
    stops.push(() => { clearInterval(timer) })
  }
  return () => { for (const stop of stops.splice(0)) stop() }
}

/**
 * A peer we waited for (one we could not reach) is back when any connection to it opens: it
 * dialled us, or a dial to it succeeded for another caller. Returns the function that stops.
 */
export function watchPeerReturns (libp2p: Pick<Libp2p, 'addEventListener' | 'removeEventListener'>, wake: Wake): () => void {
  const onOpen = (evt: CustomEvent<Connection>): void => { wake.seen(evt.detail.remotePeer.toString()) }
  libp2p.addEventListener('connection:open', onOpen)
  return () => { libp2p.removeEventListener('connection:open', onOpen) }
}
