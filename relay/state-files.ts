import { chown } from 'node:fs/promises'

/**
 * Under `sudo` (to bind port 443), files the relay creates in the checkout would belong to
 * root, and the next `npm run relay` without sudo could not read its own key. They are given
 * to the user who ran sudo (SUDO_UID/SUDO_GID), as if that user had made them.
 */
export async function ownByInvoker (path: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (process.getuid?.() !== 0) return
  const uid = Number(env.SUDO_UID)
  const gid = Number(env.SUDO_GID)
  if (!Number.isInteger(uid) || !Number.isInteger(gid) || uid === 0) return
  await chown(path, uid, gid)
}
