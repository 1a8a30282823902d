/**
 * The bench's figure groups, in the order they run. `BENCH_ONLY=inbox,search npm run bench`
 * runs only those (plus the shared set-up: three fresh peers, one of them a cafe); unset runs all.
 */
export const BENCH_GROUPS = ['load', 'dial', 'registration', 'noop', 'jwt', 'backup', 'inbox', 'search', 'scaling', 'raw', 'frontend', 'network', 'proofs', 'node-cafe'] as const

export type BenchGroup = typeof BENCH_GROUPS[number]

/** Which groups to run for a BENCH_ONLY value (comma-separated, spaces allowed); an unknown name is an error, not silently nothing. */
export function selectGroups (only: string | undefined): (group: BenchGroup) => boolean {
  if (only == null || only.trim() === '') return () => true
  const names = only.split(',').map(s => s.trim()).filter(s => s !== '')
  const unknown = names.filter(n => !(BENCH_GROUPS as readonly string[]).includes(n))
  if (unknown.length > 0) throw new Error(`BENCH_ONLY: unknown group ${unknown.join(', ')}; groups are ${BENCH_GROUPS.join(', ')}`)
  const set = new Set(names)
  return group => set.has(group)
}
