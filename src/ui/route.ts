import { useEffect, useState } from 'preact/hooks'

/** The dashboard's views, in nav order: what the cafe offers, then what this device uses. */
export const VIEWS = [
  { id: 'overview', label: 'Overview', group: 'cafe' },
  { id: 'clients', label: 'Clients', group: 'cafe' },
  { id: 'storage', label: 'Storage', group: 'cafe' },
  { id: 'activity', label: 'Activity', group: 'cafe' },
  { id: 'settings', label: 'Settings', group: 'cafe' },
  { id: 'cafes', label: 'My cafes', group: 'me' },
  { id: 'backups', label: 'Backups', group: 'me' },
  { id: 'messages', label: 'Messages', group: 'me' },
  { id: 'search', label: 'Search', group: 'me' },
  { id: 'profile', label: 'Profile', group: 'me' }
] as const

export type ViewId = typeof VIEWS[number]['id']

/** The view a location hash names (`#clients`); anything else is `home` (the overview unless said). */
export function viewOf (hash: string, home: ViewId = 'overview'): ViewId {
  const id = hash.replace(/^#/, '')
  return VIEWS.find(v => v.id === id)?.id ?? home
}

/** The current view, following the address bar's hash (links, back and forward). */
export function useView (home: ViewId = 'overview'): ViewId {
  const [hash, setHash] = useState(location.hash)
  useEffect(() => {
    const follow = (): void => { setHash(location.hash) }
    addEventListener('hashchange', follow)
    return () => { removeEventListener('hashchange', follow) }
  }, [])
  return viewOf(hash, home)
}
