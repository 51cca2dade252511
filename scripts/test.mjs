#!/usr/bin/env node
// The one test command (README, CI): build, type-check, lint, then every vitest
// suite. Under CI (CI=true) a skipped or todo test fails the run: suites that
// need root (network namespaces) must run there, not silently skip.
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync } from 'node:fs'

const pnpmArgs = process.argv.slice(2)
const run = (cmd, args) => {
  process.stdout.write(`\n> ${cmd} ${args.join(' ')}\n`)
  const r = spawnSync(cmd, args, { stdio: 'inherit' })
  if (r.status !== 0) {
    process.stderr.write(`\n${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})\n`)
    process.exit(r.status ?? 1)
  }
}

const bin = (name) => `node_modules/.bin/${name}`
run(bin('tsc'), ['-b', 'tsconfig.json'])
run(bin('tsc'), ['-p', 'tsconfig.tests.json'])
run(bin('eslint'), ['--max-warnings', '0', '.'])
mkdirSync('artifacts', { recursive: true })
run(bin('vitest'), ['run', '--reporter=default', '--reporter=json', '--outputFile.json=artifacts/vitest.json', ...pnpmArgs])

const report = JSON.parse(readFileSync('artifacts/vitest.json', 'utf8'))
const skipped = []
for (const file of report.testResults) {
  for (const t of file.assertionResults) {
    if (t.status === 'skipped' || t.status === 'pending' || t.status === 'todo') skipped.push(`${file.name}: ${t.fullName}`)
  }
}
process.stdout.write(`\n${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped.length} skipped\n`)
if (skipped.length > 0) {
  process.stdout.write(`skipped:\n  ${skipped.join('\n  ')}\n`)
  if (process.env.CI === 'true' || process.env.CI === '1') {
    process.stderr.write('CI: no suite may be skipped (root-only suites must run under CI)\n')
    process.exit(1)
  }
}
