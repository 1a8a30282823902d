import type { ViewId } from './route.ts'

/**
 * What this device is for, asked on a first run: a cafe for others, a guest of one, or
 * neither ("just use it": every view, nothing turned on). It orders the nav and picks the
 * view an empty address opens. A UI preference, so it lives in localStorage (per origin).
 */
export type Role = 'cafe' | 'guest' | 'all'

export const ROLE_KEY = 'lightcafe.role'
const ROLES: readonly Role[] = ['cafe', 'guest', 'all']

export function parseRole (v: unknown): Role | undefined {
  return ROLES.find(r => r === v)
}

/** The stored choice; none on a fresh profile (or where storage is refused). */
export function storedRole (storage: Pick<Storage, 'getItem'> | undefined = globalThis.localStorage): Role | undefined {
  try { return parseRole(storage?.getItem(ROLE_KEY)) } catch { return undefined }
}

export function storeRole (role: Role, storage: Pick<Storage, 'setItem'> | undefined = globalThis.localStorage): void {
  try { storage?.setItem(ROLE_KEY, role) } catch { /* private mode: asked again next time */ }
}

/** A profile set up before the question existed (or through the API) answers it by itself. */
export function impliedRole (live: { settings: { enabled: boolean }, cafes: unknown[] }): Role | undefined {
  if (live.settings.enabled) return 'cafe'
  if (live.cafes.length > 0) return 'guest'
  return undefined
}

/** Nav groups in the order the role uses them: a guest's own views first. */
export function navOrder (role: Role | undefined): Array<'cafe' | 'me'> {
  return role === 'guest' ? ['me', 'cafe'] : ['cafe', 'me']
}

/** The view an address without a `#view` opens. */
export function homeView (role: Role | undefined): ViewId {
  return role === 'guest' ? 'cafes' : 'overview'
}
