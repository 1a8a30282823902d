import { mib, short } from '../../format.ts'
import { useDashboard } from '../../live.ts'
import { Bar, Pending, Section } from '../section.tsx'

/** Storage: this browser's use against what it grants, and a bar per client against its quota. */
export function Storage () {
  const { live } = useDashboard()
  if (live == null) return <Section id='storage-body'><Pending /></Section>
  const { storage: st, clients } = live
  const total = clients.reduce((n, c) => n + c.bytes, 0)
  return (
    <Section id='storage-body'>
      {st.reported === false
        ? <p data-testid='storage-unreported'>This browser's storage use: not reported by this browser.</p>
        : <>
          <p>This browser: {mib(st.usage)} of {mib(st.quota)}</p>
          <Bar share={st.quota > 0 ? st.usage / st.quota : 0} label='Browser storage used' testId='storage-total' />
        </>}
      <h3>Kept for clients: {mib(total)}</h3>
      {clients.length === 0 && <p>No clients yet.</p>}
      <ul class='chart' data-testid='storage-chart'>
        {clients.map(c => (
          <li key={c.address} data-testid='storage-client' title={c.address}>
            <span>{short(c.address)}: {mib(c.bytes)} of {mib(c.quota)}</span>
            <Bar share={c.quota > 0 ? c.bytes / c.quota : 0} label={`${short(c.address)} uses ${mib(c.bytes)} of its ${mib(c.quota)} quota`} testId='storage-bar' />
          </li>
        ))}
      </ul>
    </Section>
  )
}
