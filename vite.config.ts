import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { build, defineConfig } from 'vite'
import type { Plugin } from 'vite'

/**
 * Builds the service worker after the app: it needs the final list of shell files
 * (hashed assets + index.html) to precache, and a version that changes whenever any of
 * them does, so an update installs a new cache and drops the old one.
 */
function serviceWorker (): Plugin {
  let outDir = 'dist'
  return {
    name: 'lightcafe-service-worker',
    apply: 'build',
    configResolved (config) { outDir = resolve(config.root, config.build.outDir) },
    async writeBundle (_options, bundle) {
      const files = Object.keys(bundle).filter(f => !f.endsWith('.map')).sort()
      const hash = createHash('sha256')
      for (const f of files) hash.update(f).update(await readFile(join(outDir, f)))
      const shell = { version: hash.digest('hex').slice(0, 16), files: files.map(f => f === 'index.html' ? '/' : `/${f}`) }
      await build({
        configFile: false,
        logLevel: 'warn',
        define: { __LIGHTCAFE_SHELL__: JSON.stringify(shell) },
        build: {
          outDir,
          emptyOutDir: false,
          sourcemap: true,
          target: 'es2023',
          lib: { entry: resolve('src/sw/sw.ts'), formats: ['iife'], name: 'lightcafeSW', fileName: () => 'sw.js' }
        }
      })
    }
  }
}

export default defineConfig({
  plugins: [serviceWorker()],
  build: {
    target: 'es2023',
    sourcemap: true,
    chunkSizeWarningLimit: 1500
  }
})
