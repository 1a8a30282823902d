import { defineConfig } from 'vite'
import { lightcafePwa } from './src/sw/build/vite-plugin.ts'
import type { Plugin } from 'vite'

/**
 * main.ts loads the app (boot.ts and what it imports) with a dynamic import, after its own
 * check of the origin: without a hint the browser fetches and compiles those chunks only once
 * main.ts has run. `modulepreload` links start both at once, beside main.ts.
 */
function preloadApp (): Plugin {
  return {
    name: 'lightcafe-preload-app',
    transformIndexHtml: {
      order: 'post',
      handler (_html, ctx) {
        const bundle = ctx.bundle
        const entry = ctx.chunk
        if (bundle == null || entry == null) return []
        const files = new Set<string>()
        const add = (name: string): void => {
          const out = bundle[name]
          if (out == null || out.type !== 'chunk' || files.has(name) || name === entry.fileName) return
          files.add(name)
          for (const dep of out.imports) add(dep)
        }
        for (const name of entry.dynamicImports) add(name)
        return [...files].map(f => ({ tag: 'link', attrs: { rel: 'modulepreload', crossorigin: '', href: `/${f}` }, injectTo: 'head' as const }))
      }
    }
  }
}

export default defineConfig({
  // The PWA: service worker with a precached, versioned shell; manifest links; icons.
  plugins: [preloadApp(), lightcafePwa()],
  build: {
    target: 'es2023',
    sourcemap: true,
    chunkSizeWarningLimit: 1500
  }
})
