import { defineConfig } from 'vitest/config'

// Every package is a vitest project. In-process code is loaded from source
// through the `meshkit-source` export condition; child processes spawned by
// tests run the built `dist/` (the test script builds first).
const packages = ['log', 'identity', 'discovery', 'connection', 'election', 'mesh', 'testing', 'cli']

const resolve = { conditions: ['meshkit-source', 'import', 'node', 'default'] }

export default defineConfig({
  test: {
    projects: [
      ...packages.map((name) => ({
        resolve,
        ssr: { resolve: { conditions: resolve.conditions, externalConditions: ['meshkit-source'] } },
        test: {
          name,
          root: `packages/${name}`,
          include: ['test/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      })),
      {
        resolve,
        ssr: { resolve: { conditions: resolve.conditions, externalConditions: ['meshkit-source'] } },
        test: {
          name: 'integration',
          root: 'test',
          include: ['**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
})
