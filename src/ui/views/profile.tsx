import { useEffect, useRef, useState } from 'preact/hooks'
import { errorText } from '../format.ts'
import { call } from '../local-api.ts'
import { useDashboard } from '../live.ts'
import { Section } from './section.tsx'

/** My profile (the public contact others find) and the recovery phrase, shown only on request. */
export function Profile ({ active }: { active: boolean }) {
  const { peer, live, say } = useDashboard()
  const [name, setName] = useState<string>()
  const [phrase, setPhrase] = useState('')
  const shown = useRef<HTMLParagraphElement>(null)
  // The phrase leaves the screen with the view, and when the tab is hidden.
  useEffect(() => { if (!active) setPhrase('') }, [active])
  useEffect(() => {
    const hide = (): void => { if (document.visibilityState === 'hidden') setPhrase('') }
    document.addEventListener('visibilitychange', hide)
    return () => { document.removeEventListener('visibilitychange', hide) }
  }, [])
  useEffect(() => { if (phrase !== '') shown.current?.focus() }, [phrase])
  useEffect(() => { call<{ name: string }>(peer, 'GET', '/api/v0/profile').then(p => { setName(p.name) }, () => { setName('') }) }, [peer])
  const save = (e: Event): void => {
    e.preventDefault()
    const next = String(new FormData(e.currentTarget as HTMLFormElement).get('name'))
    call<{ published: string[] }>(peer, 'PUT', '/api/v0/profile', { name: next }).then(r => { setName(next); say(`Profile saved and published to ${r.published.length} cafe(s).`) }, err => { say(errorText(err)) })
  }
  const reveal = (): void => {
    if (!confirm('Anyone who sees these words can read your backups and act as you. Show them now?')) return
    call<{ mnemonic: string }>(peer, 'GET', '/api/v0/account/mnemonic').then(m => { setPhrase(m.mnemonic) }, err => { say(errorText(err)) })
  }
  return (
    <Section id='me' title='My profile'>
      {name != null && (
        <form class='inline' onSubmit={save}>
          <label for='profile-name'>Name others find me by</label>
          <input id='profile-name' name='name' data-testid='profile-name' maxLength={64} required defaultValue={name} />
          <button type='submit'>Save</button>
        </form>
      )}
      <p>Account: <span class='secret' data-testid='my-address'>{live?.info.address ?? '…'}</span></p>
      <h3>Recovery phrase</h3>
      <p>Write it down and keep it offline: with it alone a new device recovers everything this account keeps at its cafes.</p>
      <button type='button' data-testid='reveal-mnemonic' onClick={reveal}>Show recovery phrase</button>
      {phrase !== '' && <button type='button' onClick={() => { setPhrase('') }}>Hide it</button>}
      {/* Not a live region: read when the owner moves to it, never aloud on its own. */}
      <p data-testid='mnemonic' class='secret phrase' tabIndex={-1} ref={shown}>{phrase}</p>
    </Section>
  )
}
