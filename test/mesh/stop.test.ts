/** stop() releases everything: the process exits on its own afterwards. */
import { spawn } from 'node:child_process'
import { resolve } from 'node:path'
import { describe, expect, test } from 'vitest'

const fixture = resolve(import.meta.dirname, '_stop-fixture.ts')

describe('stop() leaves no handles', () => {
  test.each(['memory', 'loopback'])('%s discovery: after stop() the process exits by itself', async (mode) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, mode], { stdio: ['ignore', 'pipe', 'pipe'], cwd: resolve(import.meta.dirname, '..') })
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    const code = await new Promise<number | null>((res) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL')
        res(-1)
      }, 30_000)
      child.once('exit', (c) => {
        clearTimeout(timer)
        res(c)
      })
    })
    expect(code, `the process did not exit by itself after stop(): ${out} ${err}`).toBe(0)
    const stopped = JSON.parse(out.trim().split('\n').at(-1)!) as { ev: string; left: string[] }
    expect(stopped.ev).toBe('stopped')
    // what is left may only be timers that no longer keep the loop alive (the exit proves it)
    expect(stopped.left.filter((r) => r !== 'Timeout')).toEqual([])
  }, 60_000)
})
