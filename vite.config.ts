import { defineConfig } from 'vite'
import { lightcafePwa } from './src/sw/build/vite-plugin.ts'

export default defineConfig({
  // The PWA: service worker with a precached, versioned shell; manifest links; icons.
  plugins: [lightcafePwa()],
  build: {
    target: 'es2023',
    sourcemap: true,
    chunkSizeWarningLimit: 1500
  }
})
