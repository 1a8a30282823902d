import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { dirname, join, normalize } from 'node:path'

/** A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to hyphens. */
export function anchorOf (heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}_\- ]/gu, '').replaceAll(' ', '-')
}

const withoutCode = (text: string): string => text.replace(/^```[\s\S]*?^```/gm, '')

/** Every anchor a markdown file's headings make (a repeated one gets `-1`, `-2`, … as on GitHub). */
export function anchorsIn (markdown: string): Set<string> {
  const seen = new Map<string, number>()
  const anchors = new Set<string>()
  for (const m of withoutCode(markdown).matchAll(/^#{1,6}\s+(.*)$/gm)) {
    const a = anchorOf(m[1])
    const n = seen.get(a) ?? 0
    seen.set(a, n + 1)
    anchors.add(n === 0 ? a : `${a}-${n}`)
  }
  return anchors
}

/** Relative links of `file` (a path from the repository root) that name no file, or no heading of it. */
export function brokenLinks (file: string, read = (f: string): string => readFileSync(f, 'utf8'), exists = (f: string): boolean => existsSync(f)): string[] {
  const broken: string[] = []
  for (const m of withoutCode(read(file)).matchAll(/\]\(([^)\s]+)\)/g)) {
    const link = m[1]
    if (/^[a-z][a-z+.-]*:/i.test(link)) continue
    const [target, fragment] = link.split('#', 2)
    const path = target === '' ? file : normalize(join(dirname(file), target))
    if (!exists(path)) broken.push(`${file}: ${link} (no such file)`)
    else if (fragment != null && path.endsWith('.md') && !anchorsIn(read(path)).has(fragment)) broken.push(`${file}: ${link} (no such heading)`)
  }
  return broken
}

/** The repository's own docs: README.md and every markdown file under docs/ and src/. */
export function docFiles (): string[] {
  const under = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap(e =>
    e.isDirectory() ? under(join(dir, e.name)) : e.name.endsWith('.md') ? [join(dir, e.name)] : [])
  return ['README.md', ...under('docs'), ...under('src')]
}
