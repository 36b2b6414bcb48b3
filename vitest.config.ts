import { defineConfig } from 'vitest/config'

export default defineConfig({
  resolve: { conditions: ['source'] },
  // Vite 6+ resolves tests (the server/SSR environment) with ssr.resolve.conditions, not
  // resolve.conditions: without this, workspace packages resolved to their (stale) dist/
  ssr: { resolve: { conditions: ['source', 'module', 'node', 'development|production'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'examples/test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    reporters: process.env.CI === 'true' ? ['default'] : ['default']
  }
})
