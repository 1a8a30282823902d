export { ENVELOPE_LIMITS, createEnvelope, envelopeSigningBytes, openEnvelope, verifyEnvelope } from './envelope.ts'
export type { Envelope, EnvelopeLimits } from './envelope.ts'
export { DEDUPE_LIMITS, envelopeKey, selectNew } from './dedupe.ts'
