import '../../relay/polyfill.ts'
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startNodeCafe } from '../../server/node-cafe.ts'
import { call, registerOverHttp } from '../../server/test-helpers.ts'

/**
 * The IPFS Pinning Service API compliance suite (@ipfs-shipyard/pinning-service-compliance)
 * against the headless cafe's real HTTP port: a Node cafe on disk in a temporary folder, an
 * account registered over HTTP with an owner's token, the suite run with that session as its
 * access token. Prints "N passed, M failed"; exits 1 unless every check passed.
 */
const root = fileURLToPath(new URL('../..', import.meta.url))
const suite = join(root, 'node_modules/@ipfs-shipyard/pinning-service-compliance/dist/src/index.js')
const dir = await mkdtemp(join(tmpdir(), 'lightcafe-compliance-'))
const out = join(dir, 'reports')
const node = await startNodeCafe({ dir: join(dir, 'cafe'), host: '127.0.0.1', ports: { tcp: 0, ws: 0, http: 0, owner: 0 } })
let code = 1
try {
  const owner = { authorization: `Bearer ${(await readFile(node.ownerSecretFile, 'utf8')).trim()}` }
  await call(node.owner.url, 'PUT', '/api/v0/cafe', { enabled: true, name: 'compliance' }, owner)
  const { token } = (await call(node.owner.url, 'POST', '/api/v0/tokens', undefined, owner)).body
  const session = await registerOverHttp(node.http.url, node.libp2p.peerId.toString(), token)
  await import('node:fs/promises').then(async fs => fs.mkdir(out, { recursive: true }))
  const endpoint = `${node.http.url}/cafe/v1`
  console.log(`compliance suite against ${endpoint}`)
  const child = spawn(process.execPath, ['--import', join(root, 'scripts/compliance/local-spec-hook.mjs'), suite, '-s', endpoint, session.access], {
    env: { ...process.env, COMPLIANCE_OUT: out },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let log = ''
  child.stdout.on('data', (b: Buffer) => { log += b.toString() })
  child.stderr.on('data', (b: Buffer) => { log += b.toString() })
  const timer = setTimeout(() => { child.kill('SIGKILL') }, 300_000)
  await new Promise(resolve => child.on('exit', resolve))
  clearTimeout(timer)
  const report = JSON.parse(await readFile(join(out, '127.0.0.1.json'), 'utf8').catch(() => '{}')) as { total?: number, passed?: number, failed?: number }
  const md = await readFile(join(out, '127.0.0.1.md'), 'utf8').catch(() => '')
  const failures = md.split('\n').filter(l => l.includes('❌') || l.includes('⚠️'))
  // Each check is one API call whose nested expectations all must pass; count those too, and a
  // check that threw before its expectations ran (the suite logs it and counts nothing).
  const expectations = { passed: log.split('🟢').length - 1, failed: log.split('❌').length - 1 }
  const crashed = log.split('\n').filter(l => l.includes('Problem running compliance check'))
  console.log(`expectations: ${expectations.passed} passed, ${expectations.failed} failed${crashed.length > 0 ? `; ${crashed.length} checks crashed` : ''}`)
  if (expectations.failed > 0 || crashed.length > 0) report.failed = (report.failed ?? 0) + expectations.failed + crashed.length
  if ((report.failed ?? 1) > 0 || (report.total ?? 0) === 0) {
    console.log(failures.slice(0, 40).join('\n'))
    console.log(log.split('\n').filter(l => /error/i.test(l)).slice(0, 20).join('\n'))
  }
  console.log(`compliance: ${report.passed ?? 0} passed, ${report.failed ?? 0} failed`)
  code = (report.total ?? 0) > 0 && report.failed === 0 ? 0 : 1
} finally {
  await node.stop()
  if (code === 0) await rm(dir, { recursive: true, force: true })
  else console.log(`reports kept in ${out}`)
}
process.exit(code)
