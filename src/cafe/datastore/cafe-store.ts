import { DEFAULT_SETTINGS, rotate } from '../store.ts'
import { bindToken } from '../tokens.ts'
import { Records, Serial } from './records.ts'
import type { CafeSettings, CafeStore, ClientRecord, NextRefresh, Registration, Rotation, SessionRecord, TokenRecord } from '../store.ts'
import type { Datastore } from 'interface-datastore'

type Row = TokenRecord | ClientRecord | SessionRecord | CafeSettings | number

const stripQuota = (c: ClientRecord): ClientRecord => { const out = { ...c }; delete out.quota; return out }
const removedToken = (t: TokenRecord, at: string): TokenRecord => ({ ...t, revoked: t.revoked ?? at, removed: at })

/**
 * The cafe's tokens, clients, sessions, quotas and settings over an interface-datastore. Keys:
 * `/cafe/token/<id>`, `/cafe/client/<address>`, `/cafe/session/<sid>`, `/cafe/quota/<address>`,
 * `/cafe/settings`. Which sessions belong to which address is indexed in memory at open.
 */
export class DatastoreCafeStore implements CafeStore {
  readonly #rows: Records<Row>
  readonly #serial = new Serial()
  readonly #sessionsOf = new Map<string, Set<string>>()
  readonly #ready: Promise<void>

  constructor (ds: Datastore) {
    this.#rows = new Records<Row>(ds, 'cafe')
    this.#ready = this.#load()
  }

  async #load (): Promise<void> {
    for await (const { value } of this.#rows.all('session')) this.#index(value as SessionRecord)
  }

  #index (s: SessionRecord): void {
    const sids = this.#sessionsOf.get(s.address) ?? new Set<string>()
    sids.add(s.sid)
    this.#sessionsOf.set(s.address, sids)
  }

  #unindex (address: string, sid: string): void {
    const sids = this.#sessionsOf.get(address)
    sids?.delete(sid)
    if (sids?.size === 0) this.#sessionsOf.delete(address)
  }

  async #get<T extends Row> (...parts: string[]): Promise<T | undefined> {
    await this.#ready
    return await this.#rows.get(this.#rows.key(...parts)) as T | undefined
  }

  async #list<T extends Row> (kind: string): Promise<Array<{ name: string, value: T }>> {
    await this.#ready
    const out: Array<{ name: string, value: T }> = []
    for await (const { key, value } of this.#rows.all(kind)) out.push({ name: this.#rows.parts(key)[1], value: value as T })
    return out
  }

  #withQuota (c: ClientRecord, quota: number | undefined): ClientRecord {
    return quota == null ? stripQuota(c) : { ...stripQuota(c), quota }
  }

  async getToken (id: string): Promise<TokenRecord | undefined> { return this.#get('token', id) }
  async putToken (t: TokenRecord): Promise<void> {
    await this.#ready
    await this.#serial.run(async () => { await this.#rows.put(this.#rows.key('token', t.id), t) })
  }

  async listTokens (): Promise<TokenRecord[]> { return (await this.#list<TokenRecord>('token')).map(r => r.value) }

  async getClient (a: string): Promise<ClientRecord | undefined> {
    const c = await this.#get<ClientRecord>('client', a)
    return c == null ? undefined : this.#withQuota(c, await this.#get<number>('quota', a))
  }

  async listClients (): Promise<ClientRecord[]> {
    const quotas = new Map((await this.#list<number>('quota')).map(r => [r.name, r.value]))
    return (await this.#list<ClientRecord>('client')).map(r => this.#withQuota(r.value, quotas.get(r.name)))
  }

  async touchClient (a: string, lastSeen: string): Promise<void> {
    await this.#ready
    await this.#serial.run(async () => {
      const c = await this.#rows.get(this.#rows.key('client', a)) as ClientRecord | undefined
      if (c != null) await this.#rows.put(this.#rows.key('client', a), { ...c, lastSeen })
    })
  }

  async setClientQuota (a: string, quota: number | undefined): Promise<boolean> {
    await this.#ready
    return this.#serial.run(async () => {
      if ((await this.#rows.get(this.#rows.key('client', a))) == null) return false
      if (quota == null) await this.#rows.delete(this.#rows.key('quota', a))
      else await this.#rows.put(this.#rows.key('quota', a), quota)
      return true
    })
  }

  async getSession (sid: string): Promise<SessionRecord | undefined> { return this.#get('session', sid) }
  async deleteSession (sid: string): Promise<void> {
    await this.#ready
    await this.#serial.run(async () => {
      const s = await this.#rows.get(this.#rows.key('session', sid)) as SessionRecord | undefined
      await this.#rows.delete(this.#rows.key('session', sid))
      if (s != null) this.#unindex(s.address, sid)
    })
  }

  async register (reg: Registration): Promise<void> {
    await this.#ready
    await this.#serial.run(async () => {
      const token = bindToken(await this.#rows.get(this.#rows.key('token', reg.tokenId)) as TokenRecord | undefined, reg.client.address)
      // Token, client and session in one batch: a kill leaves all three or none.
      await this.#rows.batch()
        .put(this.#rows.key('token', token.id), token)
        .put(this.#rows.key('client', reg.client.address), stripQuota(reg.client))
        .put(this.#rows.key('session', reg.session.sid), reg.session)
        .commit()
      this.#index(reg.session)
    })
  }

  async rotateRefresh (sid: string, expected: string, next: NextRefresh, now: string): Promise<Rotation> {
    await this.#ready
    return this.#serial.run(async () => {
      const { result, write } = rotate(await this.#rows.get(this.#rows.key('session', sid)) as SessionRecord | undefined, expected, next, now)
      if (write != null) await this.#rows.put(this.#rows.key('session', sid), write)
      return result
    })
  }

  async removeClient (address: string, opts: { revokeTokens?: string } = {}): Promise<boolean> {
    await this.#ready
    return this.#serial.run(async () => {
      const existed = (await this.#rows.get(this.#rows.key('client', address))) != null
      const batch = this.#rows.batch().delete(this.#rows.key('client', address))
      const sids = [...this.#sessionsOf.get(address) ?? []]
      for (const sid of sids) batch.delete(this.#rows.key('session', sid))
      if (opts.revokeTokens != null) {
        for (const { value: t } of await this.#list<TokenRecord>('token')) {
          if (t.usedBy === address) batch.put(this.#rows.key('token', t.id), removedToken(t, opts.revokeTokens))
        }
      }
      await batch.commit()
      for (const sid of sids) this.#unindex(address, sid)
      return existed
    })
  }

  async getSettings (): Promise<CafeSettings> { return { ...DEFAULT_SETTINGS, ...await this.#get<CafeSettings>('settings') } }
  async putSettings (s: CafeSettings): Promise<void> {
    await this.#ready
    await this.#serial.run(async () => { await this.#rows.put(this.#rows.key('settings'), s) })
  }
}
