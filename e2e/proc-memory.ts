import { readFile, readdir, writeFile } from 'node:fs/promises'

// A browser's processes and the memory they use, from /proc (Linux): the same measure for
// every engine, whatever drives it.

/** Every process under `root` (itself included), from /proc. */
export async function processTree (root: number): Promise<number[]> {
  const parent = new Map<number, number>()
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '')
    // pid (comm) state ppid …: comm may hold spaces and parentheses, so read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
    if (Number.isFinite(ppid)) parent.set(Number(name), ppid)
  }
  const out = [root]
  for (let i = 0; i < out.length; i++) for (const [pid, pp] of parent) if (pp === out[i]) out.push(pid)
  return out
}

/** The process whose command line holds `marker` (a browser's own profile directory) and has no parent that does. */
export async function rootProcessOf (marker: string): Promise<number | undefined> {
  const hits = new Map<number, number>()
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const cmd = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '')
    if (!cmd.includes(marker)) continue
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '')
    hits.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]))
  }
  return [...hits].find(([, ppid]) => !hits.has(ppid))?.[0]
}

async function status (pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '')
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024
}

/**
 * The peak memory `work` adds to a browser's processes: each process's resident peak is reset
 * (`clear_refs` 5) before, and what it rose above its size then is summed after (an upper
 * bound of the whole tree's peak: each process's own peak may come at another moment).
 */
export async function peakGrowth<T> (pids: number[], work: () => Promise<T>): Promise<{ result: T, peakBytes: number }> {
  const before = new Map<number, number>()
  for (const pid of pids) {
    await writeFile(`/proc/${pid}/clear_refs`, '5').catch(() => {})
    before.set(pid, await status(pid, 'VmRSS'))
  }
  const result = await work()
  let peakBytes = 0
  for (const pid of pids) peakBytes += Math.max(0, await status(pid, 'VmHWM') - (before.get(pid) ?? 0))
  return { result, peakBytes }
}
