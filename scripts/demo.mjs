#!/usr/bin/env node
// `pnpm demo`: builds, then runs the meshkit demo. Until the CLI lands, a
// two-device exchange on loopback through the connection layer.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'

const build = spawnSync('node_modules/.bin/tsc', ['-b', 'tsconfig.json'], { stdio: 'inherit' })
if (build.status !== 0) process.exit(build.status ?? 1)
const cli = 'packages/cli/dist/bin.js'
const args = existsSync(cli) ? [cli, 'demo', ...process.argv.slice(2)] : ['scripts/two-node.mjs']
const run = spawnSync(process.execPath, args, { stdio: 'inherit' })
process.exit(run.status ?? 1)
