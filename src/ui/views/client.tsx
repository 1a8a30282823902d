// The "This device" views, one file each (the owner's cafe views are in owner/, one file per section).
export { MyCafes } from './my-cafes.tsx'
export { Backups } from './backups.tsx'
export { BackupHealthView } from './backup-health.tsx'
export { Recovery } from './recovery.tsx'
export { Messages } from './messages.tsx'
export { Search } from './search.tsx'
export { Profile } from './profile.tsx'
export { Restore } from './restore.tsx'
