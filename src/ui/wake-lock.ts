/** What the screen line says when the browser wants a user gesture before it keeps the screen on. */
export const TAP_TO_KEEP_AWAKE = 'tap to keep the screen on'

/** Events that carry a user gesture (transient activation) in every engine. */
const GESTURES = ['pointerup', 'keydown', 'click', 'touchend'] as const

export interface WakeDeps {
  wakeLock?: WakeLock
  /** Where visibility changes and gestures are heard (the document). */
  events: EventTarget
  visible: () => boolean
}

/**
 * Screen wake lock while cafe mode is on, re-taken when the tab becomes visible again. WebKit
 * (Safari) grants it only during a user gesture: a refusal (NotAllowedError) reads "tap to keep
 * the screen on" and the next gesture anywhere on the page asks again, from within the gesture.
 */
export function keepAwake (isCafe: () => Promise<boolean>, report: (state: string) => void, deps: WakeDeps = { wakeLock: navigator.wakeLock, events: document, visible: () => document.visibilityState === 'visible' }): () => void {
  let lock: WakeLockSentinel | undefined
  let wanted = false
  let armed = false
  // The request in flight: one tap fires pointerup, touchend and click, and each asking on its
  // own would take a lock of its own, leaking all but the last.
  let pending: Promise<void> | undefined
  const held = (): boolean => lock != null && !lock.released
  const ask = async (): Promise<void> => {
    try {
      const sentinel = await deps.wakeLock!.request('screen')
      // Cafe mode went off while the browser decided.
      if (!wanted) { await sentinel.release(); return }
      lock = sentinel
      report('screen kept on')
      lock.addEventListener('release', () => { report('released (tab hidden)') })
    } catch (err) {
      if ((err as Error).name === 'NotAllowedError') { report(TAP_TO_KEEP_AWAKE); arm() } else report(`refused: ${(err as Error).message}`)
    }
  }
  // Set before the first await, so a second caller in the same task joins this request.
  const request = (): Promise<void> => (pending ??= ask().finally(() => { pending = undefined }))
  // Called in the gesture's own task: an await before the request would lose its activation.
  // The first gesture disarms the rest; a refusal arms them again.
  const onGesture = (): void => { disarm(); if (wanted && !held()) void request() }
  const arm = (): void => {
    if (armed) return
    armed = true
    for (const type of GESTURES) deps.events.addEventListener(type, onGesture, { capture: true })
  }
  const disarm = (): void => {
    if (!armed) return
    armed = false
    for (const type of GESTURES) deps.events.removeEventListener(type, onGesture, { capture: true })
  }
  const takeOnce = async (): Promise<void> => {
    wanted = await isCafe()
    if (!wanted) { disarm(); await lock?.release(); lock = undefined; report('off (not a cafe)'); return }
    if (held()) return
    if (deps.wakeLock == null) { report('not supported by this browser'); return }
    await request()
  }
  // One at a time: two overlapping calls would both see no lock and take two, leaking one.
  let chain = Promise.resolve()
  const take = (): void => { chain = chain.then(takeOnce, takeOnce) }
  deps.events.addEventListener('visibilitychange', () => { if (deps.visible()) take() })
  take()
  return take
}
