import { useDashboard } from '../../live.ts'
import { Section } from '../section.tsx'

/** The relays this node uses, and whether each holds a slot for it. */
export function Relays () {
  const { live } = useDashboard()
  return (
    <Section id='relays' title='Relays'>
      <ul>
        {live == null
          ? <li>…</li>
          : live.info.relays.map(r => <li key={r.multiaddr} data-testid='relay'>{r.connected ? (r.reserved ? 'reserved' : 'connected, reserving a slot') : 'reconnecting'}<code class='addr'>{r.multiaddr}</code></li>)}
      </ul>
      {live?.info.relays.length === 0 && <p>No relay configured: add <code>?relay=&lt;multiaddr&gt;</code> to the address, or serve <code>/relays.json</code>.</p>}
    </Section>
  )
}
