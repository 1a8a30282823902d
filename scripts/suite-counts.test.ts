import { execFileSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { complianceCount, e2eCount, unitCount } from './suite-counts.ts'

describe("npm test's counts", () => {
  it('count a skipped or todo unit test as failed', () => {
    const clean = { success: true, numPassedTests: 10, numFailedTests: 0, numPendingTests: 0, numTodoTests: 0, numRuntimeErrorTestSuites: 0 }
    expect(unitCount(clean)).toMatchObject({ passed: 10, failed: 0 })
    // vitest reports a run with skipped tests as a success.
    expect(unitCount({ ...clean, numPendingTests: 2 })).toMatchObject({ passed: 10, failed: 2 })
    expect(unitCount({ ...clean, numTodoTests: 1 })).toMatchObject({ passed: 10, failed: 1 })
    expect(unitCount({ ...clean, success: false, numFailedTests: 3 })).toMatchObject({ failed: 3 })
    expect(unitCount({ ...clean, success: false })).toMatchObject({ failed: 1 })
  })

  it('count a skipped e2e test as failed', () => {
    expect(e2eCount({ stats: { expected: 5, flaky: 0, unexpected: 0, skipped: 0 }, errors: [] })).toMatchObject({ passed: 5, failed: 0 })
    expect(e2eCount({ stats: { expected: 5, flaky: 1, unexpected: 0, skipped: 2 }, errors: [] })).toMatchObject({ passed: 6, failed: 2 })
    expect(e2eCount({ stats: { expected: 5, flaky: 0, unexpected: 1, skipped: 0 }, errors: [{}] })).toMatchObject({ failed: 2 })
    expect(e2eCount({})).toMatchObject({ passed: 0, failed: 1 })
  })

  it('read the compliance line, and fail without it', () => {
    expect(complianceCount('x\ncompliance: 9 passed, 0 failed\n')).toMatchObject({ passed: 9, failed: 0 })
    expect(complianceCount('crashed')).toMatchObject({ passed: 0, failed: 1 })
  })

  it('print "passed failed" from a report file as scripts/test.sh reads it, and a failure for a missing one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lightcafe-counts-'))
    try {
      const file = join(dir, 'e2e.json')
      await writeFile(file, JSON.stringify({ stats: { expected: 3, flaky: 0, unexpected: 0, skipped: 1 }, errors: [] }))
      const run = (...args: string[]): string => execFileSync(process.execPath, ['--import', 'tsx', 'scripts/suite-counts.ts', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
      expect(run('e2e', file)).toBe('3 1')
      expect(run('unit', join(dir, 'missing.json'))).toBe('0 1')
    } finally { await rm(dir, { recursive: true, force: true }) }
  })
})
