#!/usr/bin/env node
// `pnpm demo [--nodes N] [--lan]`: builds, then runs `meshkit demo`.
import { spawnSync } from 'node:child_process'

const build = spawnSync('node_modules/.bin/tsc', ['-b', 'tsconfig.json'], { stdio: 'inherit' })
if (build.status !== 0) process.exit(build.status ?? 1)
const run = spawnSync(process.execPath, ['packages/cli/dist/bin.js', 'demo', ...process.argv.slice(2)], { stdio: 'inherit' })
process.exit(run.status ?? 1)
