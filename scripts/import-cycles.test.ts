import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { findCycles, importGraph } from './import-cycles.ts'

describe('import cycles', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'lc-cycles-'))
  afterAll(() => { rmSync(tmp, { recursive: true, force: true }) })

  it('finds a loop through a type-only import and a dynamic one, and none in a tree without', () => {
    mkdirSync(join(tmp, 'a/b'), { recursive: true })
    writeFileSync(join(tmp, 'a/store.ts'), "import { bind } from './tokens.ts'\nexport const s = bind\n")
    writeFileSync(join(tmp, 'a/tokens.ts'), "import type { Rec } from './store.ts'\nexport const bind = (r: Rec) => r\n")
    writeFileSync(join(tmp, 'a/b/page.tsx'), "export const p = async () => import('../view.ts')\n")
    writeFileSync(join(tmp, 'a/view.ts'), "export { p } from './b/page.tsx'\nimport 'node:fs'\n")
    writeFileSync(join(tmp, 'a/leaf.ts'), "import { s } from './store.ts'\nexport default s\n")
    const cycles = findCycles(importGraph([join(tmp, 'a')])).map(c => c.map(f => relative(tmp, f)).sort())
    expect(cycles.sort()).toEqual([['a/b/page.tsx', 'a/view.ts'], ['a/store.ts', 'a/tokens.ts']])
    rmSync(join(tmp, 'a/b'), { recursive: true })
    writeFileSync(join(tmp, 'a/tokens.ts'), 'export const bind = (r: unknown) => r\n')
    expect(findCycles(importGraph([join(tmp, 'a')]))).toEqual([])
  })

  it('has none in src/, relay/, server/ and test/', () => {
    const graph = importGraph(['src', 'relay', 'server', 'test'])
    expect(graph.size).toBeGreaterThan(100)
    expect(findCycles(graph).map(c => c.map(f => relative(process.cwd(), f)).join(' > '))).toEqual([])
  })
})
