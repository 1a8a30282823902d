import type { ComponentChildren } from 'preact'

/** A part of a view; with a title it is its own labelled region. */
export function Section ({ id, title, children }: { id: string, title?: string, children: ComponentChildren }) {
  if (title == null) return <section id={id}>{children}</section>
  return (
    <section id={id} aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`} tabIndex={-1}>{title}</h3>
      {children}
    </section>
  )
}

/** After a row's button went away with its row: the section's heading takes focus. */
export function focusHeading (section: string): void {
  document.getElementById(`${section}-h`)?.focus()
}

/** A horizontal bar for a share (0..1); the text next to it carries the numbers for everyone. */
export function Bar ({ share, label, testId }: { share: number, label: string, testId?: string }) {
  const pct = Math.max(0, Math.min(1, share)) * 100
  return (
    <div class='bar' role='meter' aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(pct)} aria-label={label} data-testid={testId}>
      <div class='bar-fill' style={{ width: `${pct}%` }} />
    </div>
  )
}

/** Waiting for the first reading: a line of the same height, so nothing jumps when data comes. */
export function Pending () {
  return <p class='pending'>Loading…</p>
}

/** Technical detail (peer ids, addresses, transports) folded away under "Details". */
export function Details ({ testId, children }: { testId?: string, children: ComponentChildren }) {
  return (
    <details class='details' data-testid={testId}>
      <summary>Details</summary>
      {children}
    </details>
  )
}
