import { duration, short } from '../../format.ts'
import { useDashboard, useNow } from '../../live.ts'
import { Section } from '../section.tsx'
import { PATH_LABEL } from '../../path-words.ts'

function Uptime ({ since }: { since: string }) {
  const now = useNow()
  return <dd data-testid='uptime'>{duration(now - Date.parse(since))}</dd>
}

/** This peer: identity, uptime and every open connection with its transport. */
export function PeerStatus () {
  const { live } = useDashboard()
  // The same rows before the first reading as after it: nothing below moves when data comes.
  const info = live?.info
  const conns = live?.conns ?? []
  return (
    <Section id='peer' title='This peer'>
      <dl>
        <dt>Peer id</dt><dd data-testid='peer-id'>{info?.peerId ?? '…'}</dd>
        <dt>Account</dt><dd data-testid='account'>{info?.address ?? '…'}</dd>
        <dt>Up for</dt>{info != null ? <Uptime since={info.startedAt} /> : <dd>…</dd>}
        <dt>Connections</dt>
        <dd>
          {conns.length === 0
            ? (live == null ? '…' : 'none')
            : <ul class='plain'>{conns.map(c => <li key={c.remoteAddr} data-testid='connection' data-path={c.path} title={`${c.peerId} ${c.remoteAddr}${c.candidates != null ? ` (${c.candidates})` : ''}`}>{short(c.peerId)} ({c.transport}, {PATH_LABEL[c.path]})</li>)}</ul>}
        </dd>
      </dl>
    </Section>
  )
}
