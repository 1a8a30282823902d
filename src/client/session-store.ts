import { openDB } from 'idb'
import type { DBSchema, IDBPDatabase } from 'idb'

/** A session with one cafe, as this client keeps it. One per cafe; `id` is the cafe's peer id. */
export interface CafeSession {
  /** The cafe's peer id. */
  id: string
  /** Where to reach the cafe (its circuit/WebRTC multiaddrs); empty if known only by peer id. */
  addrs: string[]
  /** The cafe's session id (JWT `sid`). */
  sid: string
  /** This account's address, as registered. */
  address: string
  access: string
  exp: string
  refresh: string
  rexp: string
  registered: string
  /** Set when the cafe ended the session (refresh refused); the client must register again. */
  ended?: { reason: string, at: string }
}

interface ClientDB extends DBSchema {
  sessions: { key: string, value: CafeSession }
}

export interface SessionStore {
  list(): Promise<CafeSession[]>
  get(id: string): Promise<CafeSession | undefined>
  put(session: CafeSession): Promise<void>
  delete(id: string): Promise<void>
}

export class MemorySessionStore implements SessionStore {
  readonly #rows = new Map<string, CafeSession>()
  async list (): Promise<CafeSession[]> { return [...this.#rows.values()].map(s => ({ ...s })) }
  async get (id: string): Promise<CafeSession | undefined> { const s = this.#rows.get(id); return s == null ? undefined : { ...s } }
  async put (session: CafeSession): Promise<void> { this.#rows.set(session.id, { ...session }) }
  async delete (id: string): Promise<void> { this.#rows.delete(id) }
}

export class IdbSessionStore implements SessionStore {
  readonly #db: Promise<IDBPDatabase<ClientDB>>

  constructor (name: string) {
    this.#db = openDB<ClientDB>(name, 1, {
      upgrade (db, oldVersion) {
        if (oldVersion < 1) db.createObjectStore('sessions', { keyPath: 'id' })
      }
    })
  }

  async list (): Promise<CafeSession[]> { return (await this.#db).getAll('sessions') }
  async get (id: string): Promise<CafeSession | undefined> { return (await this.#db).get('sessions', id) }
  async put (session: CafeSession): Promise<void> { await (await this.#db).put('sessions', session) }
  async delete (id: string): Promise<void> { await (await this.#db).delete('sessions', id) }
}
