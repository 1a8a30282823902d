import { useEffect, useRef, useState } from 'preact/hooks'
import { errorText, short } from '../../format.ts'
import { call } from '../../local-api.ts'
import { useDashboard } from '../../live.ts'
import { Section, focusHeading } from '../section.tsx'

export function Tokens ({ active }: { active: boolean }) {
  const { peer, live, refresh, say } = useDashboard()
  const [created, setCreated] = useState('')
  const shown = useRef<HTMLParagraphElement>(null)
  // A token on screen is a key to this cafe: gone when the owner leaves the view.
  useEffect(() => { if (!active) setCreated('') }, [active])
  useEffect(() => { if (created !== '') shown.current?.focus() }, [created])
  const create = (): void => {
    call<{ token: string }>(peer, 'POST', '/api/v0/tokens').then(t => {
      setCreated(t.token)
      say('Token created. Copy it now: it is shown only once.')
      refresh()
    }, err => { say(errorText(err)) })
  }
  const copy = (): void => {
    void navigator.clipboard?.writeText(created).then(() => { say('Copied.') }, () => { say('Copy failed; select the token and copy it by hand.') })
  }
  const revoke = (id: string): void => {
    if (!confirm(`Revoke token ${id}? Nobody can register with it any more (a client already registered with it stays).`)) return
    call(peer, 'DELETE', `/api/v0/tokens/${encodeURIComponent(id)}`).then(() => { say(`Token ${id} revoked.`); refresh(); focusHeading('tokens') }, err => { say(errorText(err)) })
  }
  return (
    <Section id='tokens' title='Access tokens'>
      <button type='button' data-testid='create-token' onClick={create}>Create access token</button>
      {/* Not a live region: a screen reader reads the secret when the owner moves to it, not aloud at once. */}
      <p class='secret' data-testid='new-token' tabIndex={-1} ref={shown}>{created}</p>
      {created !== '' && <p><button type='button' onClick={copy}>Copy token</button></p>}
      <ul data-testid='token-list'>
        {live?.tokens.map(t => (
          <li key={t.id}>
            {t.id} — {t.revoked != null ? 'revoked' : t.usedBy != null ? `used by ${short(t.usedBy)}` : 'unused'}{' '}
            {t.revoked == null && <button type='button' aria-label={`Revoke token ${t.id}`} onClick={() => { revoke(t.id) }}>Revoke</button>}
          </li>
        ))}
      </ul>
      {live?.tokens.length === 0 && <p>No tokens yet.</p>}
    </Section>
  )
}
