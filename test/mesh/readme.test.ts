/**
 * Every ```ts snippet of packages/mesh/README.md runs as written, in its own
 * process, and prints what the README says it prints.
 */
import { spawn } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, test } from 'vitest'

const ROOT = resolve(import.meta.dirname, '../..')
const README = readFileSync(resolve(ROOT, 'packages/mesh/README.md'), 'utf8')
const snippets = [...README.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!)
// under test/node_modules: resolves the workspace packages, ignored by git and tsc
const DIR = resolve(ROOT, 'test/node_modules/.cache/meshkit-readme')

/** What each snippet must print, in order of appearance. */
const EXPECTED: RegExp[][] = [
  [/hallway got \{"on":true,"level":80\} from kitchen/, /delivered to 1 peer\(s\)/, /kitchen leads term \d+/],
  [/peer [0-9a-f]{8} ready/, /event: [0-9a-f]{8} is ready/, /running/],
  [/asked: 'please'/, /\[ 1, 2, 3 \]/, /true Uint8Array\(3\) \[ 1, 2, 3 \]/],
  [/100 true/],
  [/true true/],
]

function runSnippet(file: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      fail(new Error(`${file} did not finish within 60 s:\n${out}\n${err}`))
    }, 60_000)
    child.on('exit', (code) => {
      clearTimeout(timer)
      done({ code, out, err })
    })
  })
}

describe('packages/mesh/README.md', () => {
  test('has the snippets this test knows', () => {
    expect(snippets).toHaveLength(EXPECTED.length)
  })

  snippets.forEach((code, i) => {
    test(`snippet ${i + 1} runs and prints what it says`, async () => {
      mkdirSync(DIR, { recursive: true })
      const file = resolve(DIR, `snippet-${i + 1}.mts`)
      writeFileSync(file, code)
      const { code: exit, out, err } = await runSnippet(file)
      expect(err).toBe('')
      expect(exit).toBe(0)
      for (const line of EXPECTED[i] ?? []) expect(out).toMatch(line)
    }, 90_000)
  })
})
