import { describe, expect, it } from 'vitest'
import { anchorOf, brokenLinks, docFiles } from './doc-links.ts'

describe('links in the docs', () => {
  it('anchors as GitHub makes them', () => {
    expect(anchorOf('WebKit (Safari\'s engine): `e2e/webkit.spec.ts`')).toBe('webkit-safaris-engine-e2ewebkitspects')
    expect(anchorOf('Issue 13: start-up, layout shift, transfers (before → after)')).toBe('issue-13-start-up-layout-shift-transfers-before--after')
  })

  it('finds a link to a missing file and to a missing heading', () => {
    const files: Record<string, string> = {
      'docs/a.md': '# A\n\n## Two words\n\n[ok](b.md#b) [ok](#two-words) [web](https://x.org/none) [bad](c.md) [bad](b.md#nope)\n\n```\n[code](none.md)\n```\n',
      'docs/b.md': '# B\n'
    }
    const broken = brokenLinks('docs/a.md', f => files[f], f => f in files)
    expect(broken).toEqual(['docs/a.md: c.md (no such file)', 'docs/a.md: b.md#nope (no such heading)'])
  })

  it('every relative link in README.md, docs/ and src/ resolves', () => {
    const files = docFiles()
    expect(files).toContain('docs/ARCHITECTURE.md')
    expect(files.flatMap(f => brokenLinks(f))).toEqual([])
  })
})
