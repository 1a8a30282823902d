import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'

// Relative specifiers of static imports and re-exports (type-only ones too: a type loop is a
// layering loop) and of dynamic `import()`. The project spells every one with its extension.
const SPECIFIER = /(?:^|[\s;])(?:import|export)\b[^'"]*?\bfrom\s*['"](\.{1,2}\/[^'"]+)['"]|\bimport\s*\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)|^\s*import\s*['"](\.{1,2}\/[^'"]+)['"]/gm

function sources (dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue
    const path = join(dir, name)
    if (statSync(path).isDirectory()) sources(path, out)
    else if (/\.tsx?$/.test(name)) out.push(path)
  }
  return out
}

/** The module graph below `dirs`: each source file and the project files it imports. */
export function importGraph (dirs: string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>()
  for (const file of dirs.flatMap(d => sources(resolve(d)))) {
    const text = readFileSync(file, 'utf8')
    const deps = [...text.matchAll(SPECIFIER)].map(m => resolve(dirname(file), m[1] ?? m[2] ?? m[3]))
    graph.set(file, [...new Set(deps)])
  }
  return graph
}

/** Every import cycle, each once, as the files along it (depth-first, iterative colouring). */
export function findCycles (graph: Map<string, string[]>): string[][] {
  const state = new Map<string, 'open' | 'done'>()
  const cycles: string[][] = []
  const seen = new Set<string>()
  for (const start of graph.keys()) {
    if (state.has(start)) continue
    const path: string[] = []
    const stack: Array<{ file: string, next: number }> = [{ file: start, next: 0 }]
    state.set(start, 'open'); path.push(start)
    while (stack.length > 0) {
      const top = stack[stack.length - 1]
      const deps = graph.get(top.file) ?? []
      if (top.next >= deps.length) {
        state.set(top.file, 'done'); path.pop(); stack.pop()
        continue
      }
      const dep = deps[top.next++]
      if (!graph.has(dep)) continue
      if (state.get(dep) === 'open') {
        const cycle = path.slice(path.indexOf(dep))
        // The same loop found from another file is rotated: key it by its sorted members.
        const key = [...cycle].sort().join('\n')
        if (!seen.has(key)) { seen.add(key); cycles.push(cycle) }
      } else if (!state.has(dep)) {
        state.set(dep, 'open'); path.push(dep); stack.push({ file: dep, next: 0 })
      }
    }
  }
  return cycles
}

// `node --import tsx scripts/import-cycles.ts [dir...]`: prints each cycle, exits 1 if any.
if (process.argv[1] != null && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const dirs = process.argv.length > 2 ? process.argv.slice(2) : ['src', 'relay', 'server', 'test']
  const cycles = findCycles(importGraph(dirs))
  for (const c of cycles) console.log([...c, c[0]].map(f => relative(process.cwd(), f)).join(' > '))
  console.log(cycles.length === 0 ? 'no import cycle' : `${cycles.length} import cycle(s)`)
  process.exitCode = cycles.length === 0 ? 0 : 1
}
