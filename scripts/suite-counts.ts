import { readFileSync } from 'node:fs'

/**
 * `npm test`'s count of one suite from its report: passed and failed, as scripts/test.sh sums
 * them. A test that did not run counts as failed: a skipped or todo unit test, a skipped e2e
 * test (no test may be skipped), and a report that is missing or does not parse.
 */
export interface SuiteCount { passed: number, failed: number, notes: string[] }

/** vitest's JSON reporter (jest's shape). */
export function unitCount (report: Record<string, any>): SuiteCount {
  const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0)
  const errors = report.numRuntimeErrorTestSuites ?? 0
  // A run that failed with no failed test (a file that did not load) still fails once.
  const unexplained = report.success === true || report.numFailedTests > 0 || errors > 0 ? 0 : 1
  return {
    passed: report.numPassedTests ?? 0,
    failed: (report.numFailedTests ?? 0) + errors + skipped + unexplained,
    notes: skipped > 0 ? [`unit: ${skipped} skipped or todo, counted as failed`] : []
  }
}

/** Playwright's JSON reporter. */
export function e2eCount (report: Record<string, any>): SuiteCount {
  const s = report.stats ?? {}
  const skipped = s.skipped ?? 0
  return {
    passed: (s.expected ?? 0) + (s.flaky ?? 0),
    failed: (s.unexpected ?? 0) + skipped + (report.errors?.length ?? 0) + (report.stats == null ? 1 : 0),
    notes: skipped > 0 ? [`e2e: ${skipped} skipped, counted as failed`] : []
  }
}

/** The compliance runner's last line, `compliance: N passed, N failed`. */
export function complianceCount (log: string): SuiteCount {
  const m = /^compliance: (\d+) passed, (\d+) failed$/m.exec(log)
  return m == null ? { passed: 0, failed: 1, notes: ['compliance: no result line'] } : { passed: Number(m[1]), failed: Number(m[2]), notes: [] }
}

const COUNTERS = { unit: unitCount, e2e: e2eCount } as const

// `node --import tsx scripts/suite-counts.ts <unit|e2e|compliance> <report>` prints "passed failed".
if (process.argv[1]?.endsWith('suite-counts.ts')) {
  const [kind, file] = process.argv.slice(2)
  let count: SuiteCount
  try {
    const text = readFileSync(file, 'utf8')
    count = kind === 'compliance' ? complianceCount(text) : COUNTERS[kind as keyof typeof COUNTERS](JSON.parse(text))
  } catch (err) {
    count = { passed: 0, failed: 1, notes: [`${kind}: no report (${(err as Error).message})`] }
  }
  for (const note of count.notes) console.error(note)
  console.log(`${count.passed} ${count.failed}`)
}
