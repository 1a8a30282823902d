export { CONTACT_LIMITS, contactSigningBytes, isNewer, signContact, verifyContact } from './contact.ts'
export type { Contact, ContactFields, ContactLimits } from './contact.ts'
export { BadSignatureError } from './validate.ts'
