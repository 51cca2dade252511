#!/usr/bin/env node
// `pnpm bench <name> [--flags]`: builds, then runs test/bench/<name>.ts against
// the built packages. Each benchmark prints one JSON object as its last line.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'

const [name, ...args] = process.argv.slice(2)
const available = readdirSync('test/bench').filter((f) => f.endsWith('.ts') && !f.startsWith('_')).map((f) => f.slice(0, -3))
if (name === undefined || !available.includes(name)) {
  process.stderr.write(`usage: pnpm bench <name> [--json] [...]\navailable: ${available.join(', ')}\n`)
  process.exit(2)
}
const build = spawnSync('node_modules/.bin/tsc', ['-b', 'tsconfig.json'], { stdio: 'inherit' })
if (build.status !== 0) process.exit(build.status ?? 1)
const file = `test/bench/${name}.ts`
if (!existsSync(file)) process.exit(2)
const r = spawnSync(process.execPath, ['--import', 'tsx', file, ...args], { stdio: 'inherit' })
process.exit(r.status ?? 1)
