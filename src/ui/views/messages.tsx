import { useEffect, useState } from 'preact/hooks'
import { clock, errorText, short } from '../format.ts'
import { call } from '../local-api.ts'
import { useDashboard } from '../live.ts'
import { Section } from './section.tsx'

type Received = Array<{ from: string, body: string, id: string, received: string }>

/** Messages: send to an account address; what arrived shows (and counts as read) while the view is open. */
export function Messages ({ active }: { active: boolean }) {
  const { peer, live, refresh, say, writeTo } = useDashboard()
  const [received, setReceived] = useState<Received>()
  const unread = live?.inbox.unread ?? 0
  useEffect(() => {
    if (!active) return
    call<Received>(peer, 'GET', '/api/v0/messages').then(rows => { setReceived(rows); if (unread > 0) refresh() }, err => { say(errorText(err)) })
  }, [peer, active, unread > 0, live?.inbox.received])
  const send = (e: Event): void => {
    e.preventDefault()
    const form = e.currentTarget as HTMLFormElement
    const f = new FormData(form)
    say('Sending…')
    call<{ route: string }>(peer, 'POST', '/api/v0/messages', { to: String(f.get('to')).trim(), body: String(f.get('body')) }).then(r => {
      say(r.route === 'direct' ? 'Delivered.' : r.route === 'inbox' ? 'Left in their cafe inbox.' : 'Queued: it goes out when their peer or cafes can be reached.')
      ;(form.elements.namedItem('body') as HTMLTextAreaElement).value = ''
      refresh()
    }, err => { say(`Not sent: ${errorText(err)}`) })
  }
  const outbox = live?.inbox.outbox ?? 0
  return (
    <>
      <Section id='compose' title='Send'>
        <form onSubmit={send} key={writeTo}>
          <label for='msg-to'>To (account address, z6Mk…)</label>
          <input id='msg-to' name='to' data-testid='msg-to' maxLength={64} autocomplete='off' required pattern='z6Mk[1-9A-HJ-NP-Za-km-z]+' defaultValue={writeTo} />
          <label for='msg-text'>Message</label>
          <textarea id='msg-text' name='body' data-testid='msg-text' maxLength={4000} rows={3} required />
          <div class='actions'><button type='submit' data-testid='send-message'>Send</button></div>
        </form>
        <p data-testid='outbox' class='message'>{outbox > 0 ? `${outbox} waiting to be delivered (retried until a peer or cafe of the recipient accepts)` : ''}</p>
      </Section>
      <Section id='received' title='Received'>
        {live?.inbox.problem != null && <p data-testid='receive-problem' role='alert' class='message'>{`Messages are waiting at your cafes (${live.inbox.problem.held}): ${live.inbox.problem.details}`}</p>}
        {received?.length === 0 && <p>Nothing yet.</p>}
        <ol data-testid='message-list' class='messages'>
          {received?.map(m => <li key={`${m.from}${m.id}`} title={m.from}><time dateTime={m.received}>{clock(m.received)}</time> <b>{short(m.from)}</b>: <bdi>{m.body}</bdi></li>)}
        </ol>
      </Section>
    </>
  )
}
