/** Text formats the dashboard shares. */

export function short (id: string): string { return id.length > 20 ? `${id.slice(0, 10)}…${id.slice(-6)}` : id }

export const mib = (n: number): string => `${(n / 2 ** 20).toFixed(n < 10 * 2 ** 20 ? 2 : 0)} MiB`

/** A duration for people: "42 s", "5 min 3 s", "3 h 12 min", "2 d 4 h". */
export function duration (ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000))
  if (s < 60) return `${s} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m} min ${s % 60} s`
  const h = Math.floor(m / 60)
  if (h < 24) return `${h} h ${m % 60} min`
  return `${Math.floor(h / 24)} d ${h % 24} h`
}

/** How long ago, for people: "just now", "4 min ago", "3 h ago", then the date. */
export function ago (iso: string, now: number): string {
  const ms = now - Date.parse(iso)
  if (!Number.isFinite(ms)) return '—'
  if (ms < 60_000) return 'just now'
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ago`
  if (ms < 86_400_000) return `${Math.floor(ms / 3_600_000)} h ago`
  return new Date(iso).toLocaleDateString()
}

/** A local time of day for log lines and session ends. */
export const clock = (iso: string): string => new Date(iso).toLocaleTimeString()

export const errorText = (err: unknown): string => err instanceof Error ? err.message : String(err)
