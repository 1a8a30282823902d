import { defineConfig } from 'vitest/config'

// Unit tests: pure logic in Node. Browser behaviour is tested by Playwright in e2e/.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'relay/**/*.test.ts', 'server/**/*.test.ts', 'test/**/*.test.ts', 'scripts/**/*.test.ts', 'bench/**/*.test.ts'],
    environment: 'node',
    setupFiles: ['relay/polyfill.ts'],
    testTimeout: 20_000
  }
})
