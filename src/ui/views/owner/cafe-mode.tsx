import { useEffect, useRef, useState } from 'preact/hooks'
import { errorText, mib } from '../../format.ts'
import { TAP_TO_KEEP_AWAKE, keepAwake } from '../../wake-lock.ts'
import { installedApp, isWebKit, storageNote, wakeNote, webkitVersion } from '../../engine-notes.ts'
import { call } from '../../local-api.ts'
import { useDashboard } from '../../live.ts'
import { Section } from '../section.tsx'

/**
 * Cafe mode, and the tablet's state: screen kept on (or a tap asked for), storage persistence and
 * use, what losing it would cost. In WebKit only, Safari's rules for a cafe (engine-notes.ts):
 * storage deleted after 7 days without a visit unless run from the Home Screen, and from there
 * the screen kept on only from iOS 18.4.
 */
export function CafeMode () {
  const { peer, live, refresh, say } = useDashboard()
  const enabled = live?.info.cafe.enabled === true
  const [awake, setAwake] = useState('…')
  const retake = useRef<() => void>()
  useEffect(() => {
    retake.current = keepAwake(async () => (await call<{ enabled: boolean }>(peer, 'GET', '/api/v0/cafe')).enabled, setAwake)
  }, [peer])
  // Cafe mode may change through the API too: take or release the screen wake lock then.
  useEffect(() => { retake.current?.() }, [enabled])
  const toggle = (e: Event): void => {
    call(peer, 'PUT', '/api/v0/cafe', { enabled: (e.currentTarget as HTMLInputElement).checked }).then(refresh, err => { say(errorText(err)) })
  }
  const st = live?.storage
  const reported = st?.reported !== false
  // Browsers grant persistence to installed or often-used sites; asking from a click may help.
  const askToPersist = (): void => {
    void navigator.storage?.persist?.().then(ok => { say(ok ? 'Storage is now persistent.' : 'The browser said no; installing the app (or bookmarking it) usually makes it agree.'); refresh() })
  }
  // Safari's rules, on the screen of the one who runs the cafe, only in WebKit and while a cafe.
  const webkit = isWebKit(navigator.userAgent)
  const notes = enabled ? [storageNote(webkit, installedApp()), wakeNote(webkit, installedApp(), navigator.wakeLock != null, webkitVersion(navigator.userAgent))].filter(n => n != null) : []
  return (
    <Section id='cafe' title='Cafe mode'>
      <label for='cafe-enabled'><input type='checkbox' id='cafe-enabled' data-testid='cafe-enabled' checked={enabled} onChange={toggle} /> Offer cafe services to other peers</label>
      <dl>
        <dt>Screen</dt>
        <dd data-testid='wake-lock'>{awake === TAP_TO_KEEP_AWAKE ? <button type='button' data-testid='wake-lock-tap' onClick={() => retake.current?.()}>Tap to keep the screen on</button> : awake}</dd>
        <dt>Storage</dt>
        <dd class='storage-line'>
          <span data-testid='storage'>{st == null ? '…' : !reported ? 'not reported by this browser' : `${mib(st.usage)} of ${mib(st.quota)} used; ${st.persisted ? 'persistent (the browser will not evict it)' : 'not persistent: the browser may evict it under pressure'}`}</span>
          {st != null && reported && !st.persisted && <> <button type='button' data-testid='persist' onClick={askToPersist}>Ask the browser to keep it</button></>}
        </dd>
        <dt>If it were lost</dt>
        <dd data-testid='loss-cost'><LossCost /></dd>
      </dl>
      {notes.map(n => <p key={n} class='note' data-testid='webkit-note'>{n}</p>)}
    </Section>
  )
}

/**
 * What losing this cafe's storage would cost its clients, in words: the backups, snapshots and
 * waiting messages it keeps, and pins whose blocks are already gone.
 */
export function LossCost () {
  const { live } = useDashboard()
  if (live == null) return <>…</>
  const { clients, storage } = live
  const bytes = clients.reduce((n, c) => n + c.bytes, 0)
  const pins = clients.reduce((n, c) => n + c.pins, 0)
  const lost = clients.filter(c => c.lost > 0)
  const inbox = clients.reduce((n, c) => n + c.inbox, 0)
  const snapshots = clients.reduce((n, c) => n + c.snapshots, 0)
  if (clients.length === 0) return <>Nothing yet: no client keeps anything here.</>
  return (
    <>
      {`${clients.length} ${clients.length === 1 ? 'client' : 'clients'} would lose ${mib(bytes)} of backups here (${pins} ${pins === 1 ? 'backup' : 'backups'}, ${snapshots} thread ${snapshots === 1 ? 'snapshot' : 'snapshots'})${inbox > 0 ? ` and ${inbox} waiting ${inbox === 1 ? 'message' : 'messages'} that no other place holds` : ''}. `}
      {'Their devices notice at their next check (within an hour) and upload again what they still have; a backup this cafe alone held, from a device that is gone, would be lost. '}
      {storage.persisted ? 'This browser has made the storage persistent: it will not evict it.' : 'This browser may evict it under storage pressure (Safari after 7 days without a visit unless the app is on the Home Screen): install the app or ask the browser to keep it.'}
      {lost.length > 0 && <strong data-testid='blocks-lost'>{` Already lost: ${lost.reduce((n, c) => n + c.lost, 0)} backup(s) of ${lost.length} ${lost.length === 1 ? 'client' : 'clients'} miss blocks this storage no longer has; those clients upload them again at their next check.`}</strong>}
    </>
  )
}
