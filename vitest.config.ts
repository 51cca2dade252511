import { existsSync, readdirSync } from 'node:fs'
import { defineConfig } from 'vitest/config'

// Every package is a vitest project. In-process code is loaded from source
// through the `meshkit-source` export condition; child processes spawned by
// tests run the built `dist/` (the test script builds first).
const packages = ['log', 'identity', 'discovery', 'connection', 'election', 'mesh', 'testing', 'cli'].map((name) => `packages/${name}`)
// Every example with a test/ folder is a project too (examples are tested in CI).
const examples = existsSync('examples') ? readdirSync('examples').filter((name) => existsSync(`examples/${name}/test`)).map((name) => `examples/${name}`) : []

const resolve = { conditions: ['meshkit-source', 'import', 'node', 'default'] }

export default defineConfig({
  test: {
    projects: [
      ...[...packages, ...examples].map((root) => ({
        resolve,
        ssr: { resolve: { conditions: resolve.conditions, externalConditions: ['meshkit-source'] } },
        test: {
          name: root.replace(/^packages\//, ''),
          root,
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
