import { errorText, short } from '../format.ts'
import { call } from '../local-api.ts'
import { useDashboard } from '../live.ts'
import { Section } from './section.tsx'

/** A new device: take over an account from its recovery phrase (then register and recover). */
export function Restore () {
  const { peer, live, refresh, say } = useDashboard()
  const sessions = (live?.cafes ?? []).length
  const restore = (e: Event): void => {
    e.preventDefault()
    const form = e.currentTarget as HTMLFormElement
    const words = String(new FormData(form).get('mnemonic')).trim().toLowerCase().split(/\s+/).join(' ')
    if (!confirm('This device\'s own account is replaced by the one of these words. The current one is gone from this device unless its own recovery phrase was written down. Continue?')) return
    call<{ address: string }>(peer, 'POST', '/api/v0/account', { mnemonic: words }).then(r => {
      form.reset()
      say(`This device now holds the account ${short(r.address)}. Register with your cafe (an invitation link works again), then recover your data under Backups.`)
      refresh()
    }, err => { say(`Not restored: ${errorText(err)}`) })
  }
  return (
    <Section id='restore' title='Use my account on this device'>
      {sessions > 0
        ? <p>Deregister from this device's cafes first (My cafes): their sessions belong to the current account.</p>
        : <p>Enter the 12 or 24 words of an account's recovery phrase.</p>}
      <form onSubmit={restore}>
        <label for='restore-words'>Recovery phrase</label>
        <textarea id='restore-words' name='mnemonic' data-testid='restore-words' rows={2} required autocomplete='off' spellcheck={false} maxLength={400} disabled={sessions > 0} />
        <div class='actions'><button type='submit' data-testid='restore' disabled={sessions > 0}>Restore account</button></div>
      </form>
    </Section>
  )
}
