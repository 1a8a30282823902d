export { accountFromMnemonic, addressFromPublicKey, isAddress, newMnemonic, normaliseMnemonic, publicKeyFromAddress, verifyAccountSignature } from './account.ts'
export type { Account } from './account.ts'
export { registrationMessage } from './registration.ts'
export { AccountStore } from './store.ts'
