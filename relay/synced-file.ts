import { open } from 'node:fs/promises'
import { dirname } from 'node:path'

/**
 * Files that must survive a power cut once we rely on them (a peer key, the owner's secret,
 * a block a pin holds): the data is synced before the name points at it, and the folder
 * after, so neither an empty file nor a missing name is left behind.
 */

/** Syncs a folder: the names created or renamed in it are on disk. */
export async function syncDir (dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try { await handle.sync() } finally { await handle.close() }
}

/** Writes `data` to `file`, synced; `flag: 'wx'` fails if it exists. The folder is synced too (unless `syncFolder` is false: the caller syncs it once for many). */
export async function writeFileSynced (file: string, data: Uint8Array | string, opts: { mode?: number, flag?: 'w' | 'wx', syncFolder?: boolean } = {}): Promise<void> {
  const handle = await open(file, opts.flag ?? 'w', opts.mode ?? 0o644)
  try {
    await handle.writeFile(data)
    await handle.datasync()
  } finally {
    await handle.close()
  }
  if (opts.syncFolder !== false) await syncDir(dirname(file))
}
