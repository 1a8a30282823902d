import { useEffect, useRef } from 'preact/hooks'
import type { Role } from '../role.ts'

const CHOICES: Array<{ role: Role, label: string, what: string }> = [
  { role: 'cafe', label: 'Be a cafe for others', what: 'This device stays on — a spare tablet, a laptop — and keeps your friends\' encrypted backups and messages. You invite them with a QR code.' },
  { role: 'guest', label: 'Join a cafe', what: 'Back up this device and receive messages through a friend\'s cafe. Open the invitation link, or scan the QR code on the cafe\'s screen.' },
  { role: 'all', label: 'Just use it', what: 'Skip this for now and see everything.' }
]

/** A fresh profile's first question: what this device is for. Every view stays in the menu afterwards. */
export function FirstRun ({ onChoose }: { onChoose: (role: Role) => void }) {
  const heading = useRef<HTMLHeadingElement>(null)
  useEffect(() => { heading.current?.focus() }, [])
  return (
    <section class='first-run' aria-labelledby='first-run-h' data-testid='first-run'>
      <h2 id='first-run-h' tabIndex={-1} ref={heading}>What is this device for?</h2>
      <ul class='choices'>
        {CHOICES.map(c => (
          <li key={c.role}>
            <button type='button' data-testid={`role-${c.role}`} aria-describedby={`role-${c.role}-what`} onClick={() => { onChoose(c.role) }}>{c.label}</button>
            <p id={`role-${c.role}-what`}>{c.what}</p>
          </li>
        ))}
      </ul>
      <p>You can change your mind later: the menu keeps every view, and cafe mode is a switch on the overview.</p>
    </section>
  )
}
