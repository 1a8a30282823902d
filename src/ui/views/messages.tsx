import { useEffect, useState } from 'preact/hooks'
import { clock, errorText, short } from '../format.ts'
import { call } from '../local-api.ts'
import { useDashboard } from '../live.ts'
import { Section } from './section.tsx'

type Received = Array<{ from: string, body: string, id: string, received: string }>
type Sent = Array<{ id: string, to: string, created: string, state: 'queued' | 'stored' | 'delivered' | 'read', cafes: string[] }>

/** A sent message's ticks, in words. */
function tick (m: Sent[number]): string {
  if (m.state === 'read') return 'read'
  if (m.state === 'delivered') return 'delivered'
  if (m.state === 'stored') return `stored at ${m.cafes.length} ${m.cafes.length === 1 ? 'cafe' : 'cafes'}`
  return 'queued on this device'
}

/** Messages: send to an account address; what arrived shows (and counts as read) while the view is open. */
export function Messages ({ active }: { active: boolean }) {
  const { peer, live, refresh, say, writeTo } = useDashboard()
  const [received, setReceived] = useState<Received>()
  const [sent, setSent] = useState<Sent>()
  const [readReceipts, setReadReceipts] = useState<boolean>()
  const unread = live?.inbox.unread ?? 0
  // Each sent message's state, read again whenever the live reading changes (a receipt came, an attempt ended).
  useEffect(() => {
    if (!active) return
    call<Sent>(peer, 'GET', '/api/v0/messages/sent').then(setSent, () => {})
    call<{ readReceipts: boolean }>(peer, 'GET', '/api/v0/messages/settings').then(s => { setReadReceipts(s.readReceipts) }, () => {})
  }, [peer, active, live])
  const toggleReceipts = (e: Event): void => {
    const on = (e.currentTarget as HTMLInputElement).checked
    call<{ readReceipts: boolean }>(peer, 'PUT', '/api/v0/messages/settings', { readReceipts: on }).then(s => { setReadReceipts(s.readReceipts); say(s.readReceipts ? 'Senders will see when you read their messages.' : 'Senders no longer see when you read their messages.') }, err => { say(errorText(err)) })
  }
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
      <Section id='sent' title='Sent'>
        {sent?.length === 0 && <p>Nothing sent yet.</p>}
        <ol data-testid='sent-list' class='messages'>
          {sent?.slice(0, 50).map(m => <li key={m.id} title={m.to} data-testid='sent-message' data-state={m.state}><time dateTime={m.created}>{clock(m.created)}</time> to <b>{short(m.to)}</b>: {tick(m)}</li>)}
        </ol>
        <label for='read-receipts' class='check'><input type='checkbox' id='read-receipts' data-testid='read-receipts' checked={readReceipts === true} disabled={readReceipts == null} onChange={toggleReceipts} /> Let senders see when I have read their messages</label>
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
