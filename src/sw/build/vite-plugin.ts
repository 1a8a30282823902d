import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join, relative, resolve, sep } from 'node:path'
import { build } from 'vite'
import { iconFiles } from './icon.ts'
import type { Shell } from '../shell.ts'
import type { OutputAsset, OutputChunk } from 'rolldown'
import type { Plugin } from 'vite'

/**
 * Build-time only (Node): makes the app a PWA.
 * - emits the icons (rendered from one description, src/sw/build/icon.ts);
 * - links the web manifest and icons from index.html;
 * - builds the service worker to `/sw.js`, a self-contained classic script (no shared chunks
 *   that an update could delete), with this build's shell injected: every emitted file (the
 *   hashed JS and CSS, index.html as `/`) plus the public files and icons, and a version that is a
 *   hash of all of them and of the worker's own code. `dist/shell.json` holds the same, for people.
 */

// Stands in for the shell while the worker is built; replaced afterwards, once its hash is known.
const PLACEHOLDER = '@@LIGHTCAFE_SHELL@@'
/** Outputs that are not part of the shell. */
const NOT_SHELL = /(\.map|^sw\.js|^shell\.json)$/

async function listFiles (dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true })
    return entries.filter(e => e.isFile()).map(e => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
  } catch {
    return [] // no public dir
  }
}

async function buildWorker (root: string, target: string): Promise<{ code: string, map: string | undefined }> {
  const result = await build({
    configFile: false,
    root,
    logLevel: 'warn',
    publicDir: false,
    define: { __LIGHTCAFE_SHELL__: JSON.stringify(PLACEHOLDER) },
    build: {
      write: false,
      emptyOutDir: false,
      sourcemap: true,
      target,
      minify: true,
      lib: { entry: resolve(root, 'src/sw/sw.ts'), formats: ['iife'], name: 'lightcafeServiceWorker', fileName: () => 'sw.js' }
    }
  })
  const outputs = (Array.isArray(result) ? result : [result]).flatMap(r => 'output' in r ? r.output : [])
  const chunk = outputs.find((o): o is OutputChunk => o.type === 'chunk' && o.fileName === 'sw.js')
  if (chunk == null) throw new Error('the service worker build produced no sw.js')
  const map = outputs.find((o): o is OutputAsset => o.type === 'asset' && o.fileName === 'sw.js.map')
  return { code: chunk.code, map: map == null ? undefined : String(map.source) }
}

function injectShell (code: string, shell: Shell): string {
  const literal = JSON.stringify(JSON.stringify(shell))
  const spots = [`"${PLACEHOLDER}"`, `'${PLACEHOLDER}'`, `\`${PLACEHOLDER}\``]
  const found = spots.filter(s => code.includes(s))
  if (found.length !== 1 || code.split(found[0]!).length !== 2) throw new Error('the service worker must contain the shell placeholder exactly once')
  return code.replace(found[0]!, () => literal)
}

export function lightcafePwa (): Plugin {
  let root = process.cwd()
  let publicDir = ''
  let target = 'es2023'
  const icons = iconFiles()
  return {
    name: 'lightcafe-pwa',
    enforce: 'post',
    configResolved (config) {
      root = config.root
      publicDir = config.publicDir
      if (typeof config.build.target === 'string') target = config.build.target
    },
    transformIndexHtml () {
      return [
        { tag: 'link', attrs: { rel: 'manifest', href: '/manifest.webmanifest' }, injectTo: 'head' },
        { tag: 'link', attrs: { rel: 'icon', type: 'image/svg+xml', href: '/icon.svg' }, injectTo: 'head' },
        { tag: 'link', attrs: { rel: 'apple-touch-icon', href: '/icon-192.png' }, injectTo: 'head' }
      ]
    },
    configureServer (server) {
      // `vite` (dev): the icons exist only in builds, so render them on request.
      server.middlewares.use((req, res, next) => {
        const icon = icons.get((req.url ?? '').slice(1).split('?')[0]!)
        if (icon == null) { next(); return }
        res.setHeader('content-type', icon.type)
        res.end(icon.source())
      })
    },
    generateBundle: {
      order: 'post',
      async handler (_options, bundle) {
        for (const [fileName, icon] of icons) this.emitFile({ type: 'asset', fileName, source: icon.source() })

        const contents = new Map<string, string | Uint8Array>()
        for (const out of Object.values(bundle)) {
          if (!NOT_SHELL.test(out.fileName)) contents.set(out.fileName, out.type === 'chunk' ? out.code : out.source)
        }
        for (const [fileName, icon] of icons) contents.set(fileName, icon.source())
        for (const f of await listFiles(publicDir)) {
          if (!contents.has(f)) contents.set(f, await readFile(join(publicDir, f)))
        }
        if (!contents.has('index.html')) throw new Error('the build has no index.html to precache')

        const worker = await buildWorker(root, target)
        const hash = createHash('sha256')
        const files = [...contents.keys()].sort()
        for (const f of files) hash.update(f).update('\0').update(contents.get(f)!).update('\0')
        hash.update(worker.code)
        const shell: Shell = { version: hash.digest('hex').slice(0, 16), files: files.map(f => f === 'index.html' ? '/' : `/${f}`) }

        this.emitFile({ type: 'asset', fileName: 'sw.js', source: injectShell(worker.code, shell) })
        if (worker.map != null) this.emitFile({ type: 'asset', fileName: 'sw.js.map', source: worker.map })
        this.emitFile({ type: 'asset', fileName: 'shell.json', source: `${JSON.stringify(shell, null, 2)}\n` })
      }
    }
  }
}
