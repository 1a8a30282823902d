import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { printable, printableLog } from './printable.ts'

const ROOT = new URL('../../', import.meta.url).pathname

function sources (dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) sources(path, out)
    else if (/\.ts$/.test(name) && !name.endsWith('.test.ts')) out.push(path)
  }
  return out
}

describe('printable log lines', () => {
  it('writes controls, newlines, escapes and bidirectional overrides as escapes, and leaves the rest', () => {
    expect(printable('GET /a\nGET /forged 200\u001b[2J\r\t\u0000\u007f\u009b\u202eevil\u2028')).toBe('GET /a\\nGET /forged 200\\x1b[2J\\r\\t\\x00\\x7f\\x9b\\u202eevil\\u2028')
    expect(printable('café ☕ z6Mk… 12D3KooW /ipfs/bafy ok')).toBe('café ☕ z6Mk… 12D3KooW /ipfs/bafy ok')
    const once = printable('a\u001b\nb')
    expect(printable(once)).toBe(once)
    const lines: string[] = []
    printableLog(l => { lines.push(l) })('x\ny')
    expect(lines).toEqual(['x\\ny'])
  })

  it('every console line of the relay, the app server and the Node cafe goes through printableLog', () => {
    const raw: string[] = []
    for (const file of [...sources(join(ROOT, 'relay')), ...sources(join(ROOT, 'server'))]) {
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        if (/console\.(log|error|warn|info)\(/.test(line) && !line.includes('printableLog(')) raw.push(`${relative(ROOT, file)}: ${line.trim()}`)
      }
    }
    expect(raw).toEqual([])
  })
})
