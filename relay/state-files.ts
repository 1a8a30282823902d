import { execFileSync } from 'node:child_process'
import { chown, mkdir } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'

/**
 * Under `sudo` (to bind port 443), files the relay creates in the checkout would belong to
 * root, and the next `npm run relay` without sudo could not read its own key. They are given
 * to the user who ran sudo (SUDO_UID/SUDO_GID), as if that user had made them.
 */
export interface Invoker { uid: number, gid: number }

/** The user who ran sudo, when this process is root because of it (not root itself). */
export function invoker (env: NodeJS.ProcessEnv = process.env): Invoker | undefined {
  if (process.getuid?.() !== 0) return undefined
  const uid = Number(env.SUDO_UID)
  const gid = Number(env.SUDO_GID)
  if (!Number.isInteger(uid) || !Number.isInteger(gid) || uid <= 0) return undefined
  return { uid, gid }
}

export async function ownByInvoker (path: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const who = invoker(env)
  if (who != null) await chown(path, who.uid, who.gid)
}

/**
 * `mkdir -p dir` (each new directory with `mode`), every directory it made given to the
 * invoker under sudo: `.lightcafe/` made by a root run must stay usable by the next run.
 */
export async function mkdirOwned (dir: string, mode = 0o700, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const first = await mkdir(dir, { recursive: true, mode })
  if (first == null || invoker(env) == null) return
  // mkdir names the first directory it created: every one from there down to `dir` is new.
  const top = resolve(first)
  const made: string[] = []
  for (let d = resolve(dir); ; d = dirname(d)) {
    made.unshift(d)
    if (d === top || d === dirname(d)) break
  }
  for (const d of made) await ownByInvoker(d, env)
}

/** The invoker's user and group names (coturn's proc-user/proc-group take names, not ids). */
export function invokerNames (who: Invoker): { user: string, group: string } | undefined {
  const name = (db: string, id: number): string | undefined => {
    try {
      return execFileSync('getent', [db, String(id)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split(':')[0] || undefined
    } catch {
      return undefined
    }
  }
  const user = name('passwd', who.uid)
  const group = name('group', who.gid)
  return user != null && group != null ? { user, group } : undefined
}
