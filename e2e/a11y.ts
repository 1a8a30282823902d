import { createRequire } from 'node:module'
import type { Page } from 'playwright-core'

const axeSource = createRequire(import.meta.url).resolve('axe-core/axe.min.js')

export interface Violation { id: string, impact: string | null, help: string, targets: string[] }

/**
 * axe-core's WCAG 2.x A and AA rules (labels, names, roles, contrast…) over what the page shows
 * now: hidden views are skipped by axe itself, so call it once per view.
 */
export async function axeViolations (page: Page): Promise<Violation[]> {
  if (!(await page.evaluate(() => 'axe' in globalThis))) await page.addScriptTag({ path: axeSource })
  return page.evaluate(async () => {
    const axe = (globalThis as any).axe
    const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }, resultTypes: ['violations'] })
    return (result.violations as any[]).map(v => ({ id: v.id, impact: v.impact, help: v.help, targets: (v.nodes as any[]).map(n => String(n.target)).slice(0, 5) }))
  })
}
