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

/** The screen note for a cafe in WebKit that cannot keep the screen on; undefined elsewhere. */
export function wakeNote (webkit: boolean, installed: boolean, supported: boolean): string | undefined {
  if (!webkit || supported) return undefined
  return installed
    ? 'From the Home Screen, keeping the screen on needs iOS 18.4 or later: set Auto-Lock to Never in Settings instead.'
    : 'Set Auto-Lock to Never in Settings (Display & Brightness) to keep the cafe awake.'
}
