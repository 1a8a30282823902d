import { openDB } from 'idb'
import { loadAccount, newMnemonic } from './account.ts'
import type { Account } from './account.ts'
import type { DBSchema, IDBPDatabase } from 'idb'

interface AccountDB extends DBSchema {
  account: { key: 'current', value: { mnemonic: string, created: string } }
}

/**
 * The device's account, kept in IndexedDB. The mnemonic is the account: it stays on this
 * device (the browser profile's storage) and is shown only when the owner asks for it.
 */
export class AccountStore {
  readonly #db: Promise<IDBPDatabase<AccountDB>>

  constructor (name: string) {
    this.#db = openDB<AccountDB>(name, 1, {
      upgrade (db, oldVersion) {
        if (oldVersion < 1) db.createObjectStore('account')
      }
    })
  }

  /** The stored account, or a new one made and stored on first start. */
  async loadOrCreate (): Promise<Account> {
    const db = await this.#db
    const row = await db.get('account', 'current')
    if (row != null) return await loadAccount(row.mnemonic)
    const account = await loadAccount(newMnemonic())
    await db.put('account', { mnemonic: account.mnemonic, created: new Date().toISOString() }, 'current')
    return account
  }

  /** Replaces this device's account with the one the mnemonic stands for (restore on a new device). */
  async restore (mnemonic: string): Promise<Account> {
    const account = await loadAccount(mnemonic)
    const db = await this.#db
    await db.put('account', { mnemonic: account.mnemonic, created: new Date().toISOString() }, 'current')
    return account
  }

  async close (): Promise<void> { (await this.#db).close() }
}
