import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { REASONS, REASON_STATUS, isReason, statusOf } from './reasons.ts'
import { LightcafeError, NotFoundError, refusalError } from './errors.ts'

const root = new URL('../../', import.meta.url).pathname
const api = readFileSync(join(root, 'docs/API.md'), 'utf8')

function sources (dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) sources(path, out)
    else if (/\.tsx?$/.test(name) && !name.endsWith('.test.ts')) out.push(path)
  }
  return out
}

describe('reasons', () => {
  it('docs/API.md "All reasons" lists exactly the exported union, sorted', () => {
    const section = /## All reasons[^\n]*\n([\s\S]*?)(?=\n## |$)/.exec(api)?.[1]
    expect(section, 'docs/API.md has no "## All reasons" section').toBeDefined()
    // The list is the section's last paragraph (the prose above it may name a few).
    const list = section!.trim().split(/\n\s*\n/).at(-1)!
    const listed = [...list.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map(m => m[1])
    expect(listed).toEqual([...REASONS])
    expect([...REASONS]).toEqual([...REASONS].sort())
  })

  it('every reason written in the code (errors, error bodies) is one of them', () => {
    const written = new Set<string>()
    for (const file of [...sources(join(root, 'src')), ...sources(join(root, 'relay')), ...sources(join(root, 'server'))]) {
      const text = readFileSync(file, 'utf8')
      for (const m of text.matchAll(/(?:(?:Error|super|refusalResponse|errorResponse|refusal|statusOf)\(|refuse\(res,)\s*'([A-Z][A-Z0-9_]+)'|reason: '([A-Z][A-Z0-9_]+)'|errorBody\('([A-Z][A-Z0-9_]+)'/g)) written.add(m[1] ?? m[2] ?? m[3])
    }
    expect(written.size).toBeGreaterThan(100)
    expect([...written].filter(r => !isReason(r))).toEqual([])
  })

  it('gives every reason one HTTP error status, and an error its reason\'s', () => {
    for (const r of REASONS) expect(REASON_STATUS[r] >= 400 && REASON_STATUS[r] <= 599, r).toBe(true)
    expect(new LightcafeError('QUOTA_EXCEEDED', 'x').status).toBe(413)
    expect(new NotFoundError('PIN_NOT_FOUND', 'x').status).toBe(statusOf('PIN_NOT_FOUND'))
    // A named case answers with its own status, the reason unchanged on the wire.
    expect(new LightcafeError('INVALID_ENVELOPE', 'x', { as: 'tooLarge' })).toMatchObject({ reason: 'INVALID_ENVELOPE', status: 413 })
    expect(new LightcafeError('INVALID_ENVELOPE', 'x').status).toBe(400)
    // A refusal read back from a peer keeps the status the peer answered.
    expect(refusalError(418, { error: { reason: 'PIN_NOT_FOUND', details: 'x' } }).status).toBe(418)
  })

  it('tells ours from a stranger\'s', () => {
    expect(isReason('DECRYPTION_FAILED')).toBe(true)
    for (const v of ['DECRYPT_FAILED', 'HTTP_502', '', 7, null, 'toString', 'constructor']) expect(isReason(v)).toBe(false)
  })
})
