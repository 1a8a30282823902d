import { readFileSync } from 'node:fs'
import { expect } from 'vitest'

/** For tests: every reason code docs/API.md names (a refusal with any other is undocumented). */
export const DOCUMENTED_REASONS = new Set([...readFileSync(new URL('../../docs/API.md', import.meta.url), 'utf8').matchAll(/`([A-Z][A-Z0-9_]{2,})`/g)].map(m => m[1]))

/** For tests: a refusal's body is exactly `{error: {reason, details}}` with a documented reason code. */
export function expectErrorContract (text: string): void {
  const body = JSON.parse(text) as { error: { reason: unknown, details: unknown } }
  expect(Object.keys(body)).toEqual(['error'])
  expect(Object.keys(body.error).sort()).toEqual(['details', 'reason'])
  expect(body.error.reason).toMatch(/^[A-Z][A-Z0-9_]+$/)
  expect(typeof body.error.details).toBe('string')
  expect(DOCUMENTED_REASONS, `reason ${String(body.error.reason)} is not in docs/API.md`).toContain(body.error.reason)
}
