import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'

/**
 * Every body a remote peer sends is read through the bounded readers (`readJson`, `readBody`,
 * `boundedChunks` in src/shared/streams.ts; `readJsonObject` for requests), never by the
 * unbounded `json()`, `text()`, `arrayBuffer()`, `blob()`, `formData()` or `bytes()` of a
 * Response or Request: one endless answer would be buffered whole. This scan finds every such
 * call in the shipped code; each one left must be listed here with why its body is local.
 */
const ALLOWED: Record<string, { call: string, why: string }> = {
  'src/shared/request-body.ts': { call: 'request.arrayBuffer()', why: 'a request body the browser already holds buffered (Firefox: the page\'s own request); bounded readers then read it' },
  'src/node/lan.ts': { call: 'res.text()', why: 'relays.json from the app\'s own origin (the server that serves the code), read with no dependencies before the app loads; its length is checked' },
  'src/ui/views/backups.tsx': { call: 'res.json()', why: 'the local API (/api/v0) of this device, through its service worker' },
  'src/ui/views/recovery.tsx': { call: 'res.json()', why: 'the local API of this device' },
  'src/ui/views/search.tsx': { call: 'res.json()', why: 'the local API of this device' },
  'src/ui/local-api.ts': { call: 'res.json()', why: 'the local API of this device' },
  'src/account/encryption.ts': { call: '.arrayBuffer()', why: 'a Response over this device\'s own encrypt/decrypt stream of bytes it holds' },
  'server/cli.ts': { call: 'res.json()', why: 'the owner API of the cafe on this machine (127.0.0.1, behind owner.secret)' },
  'server/test-helpers.ts': { call: 'res.text()', why: 'test helper: our own server\'s answer in a test' }
}

const ROOT = new URL('../', import.meta.url).pathname
const UNBOUNDED = /\.(json|text|arrayBuffer|blob|formData|bytes)\(\)/g

function sources (dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) sources(path, out)
    else if (/\.tsx?$/.test(name) && !/\.test\.tsx?$/.test(name)) out.push(path)
  }
  return out
}

/** Every unbounded read in shipped code, as "file: line". */
function unboundedReads (dirs: string[]): Array<{ file: string, line: string }> {
  const found: Array<{ file: string, line: string }> = []
  for (const file of dirs.flatMap(d => sources(join(ROOT, d)))) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      // Comments name these calls without making them.
      const code = line.replace(/\/\/.*$/, '').replace(/^\s*\*.*$/, '').replace(/\/\*.*?\*\//g, '')
      if (code.match(UNBOUNDED) != null) found.push({ file: relative(ROOT, file), line: line.trim() })
    }
  }
  return found
}

describe('bodies from remote peers are read bounded', () => {
  it('no unbounded json()/text()/arrayBuffer()/blob()/formData()/bytes() outside the allow-list, and none stale in it', () => {
    const found = unboundedReads(['src', 'relay', 'server'])
    expect(found.length).toBeGreaterThan(0)
    const stray = found.filter(f => ALLOWED[f.file] == null || !f.line.includes(ALLOWED[f.file].call))
    expect(stray, 'read these with readJson/readBody (src/shared/streams.ts), or list them above with why their body is local').toEqual([])
    const stale = Object.keys(ALLOWED).filter(file => !found.some(f => f.file === file))
    expect(stale, 'allowed but no longer there: drop them from the list').toEqual([])
  })

  it('the scan sees a call written the usual ways', () => {
    expect('const info = await res.json() as X'.match(UNBOUNDED)).not.toBeNull()
    expect('new Uint8Array(await (await fetch(u)).arrayBuffer())'.match(UNBOUNDED)).not.toBeNull()
    expect('return c.json({ ok: true })'.match(UNBOUNDED)).toBeNull()
  })
})
