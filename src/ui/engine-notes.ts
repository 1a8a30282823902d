/**
 * What WebKit (Safari, and every browser on an iPhone or iPad) asks of a cafe's owner, said on
 * the owner's screen where it matters. Facts from WebKit's own notes (not testable here: no iOS
 * device): Safari deletes a site's script-writable storage (IndexedDB, service worker) after 7
 * days of use without a visit unless it runs from the Home Screen, which keeps its own counter;
 * Home Screen apps get Screen Wake Lock only from iOS 18.4.
 */

/** Whether a user agent string is WebKit's: Safari, any iOS browser (CriOS, FxiOS, …), WebKitGTK. */
export function isWebKit (ua: string): boolean {
  return /AppleWebKit\//.test(ua) && !/Chrome\/|Chromium\/|Edg\/|OPR\/|Android/.test(ua)
}

/** Whether this page runs as an installed app (from the Home Screen). */
export function installedApp (): boolean {
  return globalThis.matchMedia?.('(display-mode: standalone)').matches === true || (navigator as { standalone?: boolean }).standalone === true
}

/** The storage note for a cafe in WebKit; undefined elsewhere. */
export function storageNote (webkit: boolean, installed: boolean): string | undefined {
  if (!webkit || installed) return undefined
  return 'Safari (and every browser on an iPhone or iPad) deletes this site\'s data after 7 days without a visit, unless it runs from the Home Screen: ' +
    'add Lightcafe to the Home Screen (Share, then Add to Home Screen) and run the cafe from its icon.'
}

/** The iOS (or Safari) version a WebKit user agent names, as [major, minor]; undefined if none. */
export function webkitVersion (ua: string): [number, number] | undefined {
  const m = /\bOS (\d+)_(\d+)/.exec(ua) ?? /\bVersion\/(\d+)\.(\d+)/.exec(ua)
  return m == null ? undefined : [Number(m[1]), Number(m[2])]
}

/**
 * The screen note for a cafe in WebKit that cannot keep the screen on; undefined elsewhere. From
 * the Home Screen the API is there before iOS 18.4 but does not hold the screen, so only a
 * version known to be 18.4 or later goes without the note there.
 */
export function wakeNote (webkit: boolean, installed: boolean, supported: boolean, version?: [number, number]): string | undefined {
  if (!webkit) return undefined
  if (installed) {
    const fixed = version != null && (version[0] > 18 || (version[0] === 18 && version[1] >= 4))
    return supported && fixed ? undefined : 'From the Home Screen, keeping the screen on needs iOS 18.4 or later: before it, set Auto-Lock to Never in Settings instead.'
  }
  return supported ? undefined : 'Set Auto-Lock to Never in Settings (Display & Brightness) to keep the cafe awake.'
}
