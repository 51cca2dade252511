/**
 * Three real chat processes on loopback: lines typed at one appear exactly
 * once at the others, with the sender's name. User errors exit 2 without a
 * stack trace.
 */
import { spawnJsonProcess, type JsonProcess } from '@meshkit/testing'
import { spawn } from 'node:child_process'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { assertBuilt, count, freshMesh, MAIN, spawnChat, type } from './nodes.js'

const DEADLINE = 45_000
const nodes: JsonProcess[] = []

beforeAll(assertBuilt)
afterEach(async () => {
  // also when a test failed: no process outlives its test
  await Promise.all(nodes.splice(0).map(async (n) => n.kill()))
})

describe('chat: three processes on loopback', () => {
  it('a line typed at one node appears exactly once at the two others, with the sender name', { timeout: 120_000 }, async () => {
    const mesh = freshMesh()
    const names = ['alice', 'bob', 'carol'] as const
    const [alice, bob, carol] = names.map((name) => spawnChat(name, mesh)) as [JsonProcess, JsonProcess, JsonProcess]
    nodes.push(alice, bob, carol)
    const ids = await Promise.all([alice, bob, carol].map(async (n) => String((await n.waitFor('started', () => true, DEADLINE)).id)))

    // everyone has met everyone (each prints the others joining, by name)
    await Promise.all(
      [alice, bob, carol].flatMap((n, i) => names.filter((_, j) => j !== i).map(async (other) => n.waitFor('joined', (e) => e.name === other, DEADLINE))),
    )

    type(alice, 'hello from alice')
    const sent = await alice.waitFor('sent', (e) => e.text === 'hello from alice', DEADLINE)
    expect(sent.delivered).toBe(2)
    for (const n of [bob, carol]) {
      const got = await n.waitFor('chat', (e) => e.text === 'hello from alice', DEADLINE)
      expect(got).toMatchObject({ name: 'alice', from: ids[0] })
    }

    // a second line from alice, then one from bob: reliable channels keep order per sender, so once
    // alice's second line is in, a duplicate of her first would have been delivered already
    type(alice, 'second line')
    type(bob, 'hi alice')
    await Promise.all([bob, carol].map(async (n) => n.waitFor('chat', (e) => e.text === 'second line', DEADLINE)))
    await Promise.all([alice, carol].map(async (n) => n.waitFor('chat', (e) => e.text === 'hi alice' && e.name === 'bob', DEADLINE)))
    for (const n of [bob, carol]) {
      expect(count(n, 'chat', (e) => e.text === 'hello from alice')).toBe(1)
      expect(count(n, 'chat', (e) => e.text === 'second line')).toBe(1)
    }
    expect(count(carol, 'chat', (e) => e.text === 'hi alice')).toBe(1)
    // nobody hears their own lines back
    expect(count(alice, 'chat', (e) => e.name === 'alice')).toBe(0)

    // /peers lists the other two by name; /quit leaves and the others see it
    type(carol, '/peers')
    const peers = await carol.waitFor('peers', () => true, DEADLINE)
    expect((peers.peers as Array<{ name?: string; state: string }>).filter((p) => p.state === 'ready').map((p) => p.name).sort()).toEqual(['alice', 'bob'])
    type(carol, '/quit')
    expect((await carol.exited).code).toBe(0)
    await Promise.all([alice, bob].map(async (n) => n.waitFor('left', (e) => e.name === 'carol', DEADLINE)))
  })
})

describe('chat: user errors', () => {
  const run = async (args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stderr: string }> =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'ignore', 'pipe'] })
      let stderr = ''
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
      child.on('exit', (code) => resolve({ code, stderr }))
    })

  it.each([
    [['--name', 'alice'], {}, /no group secret: pass --secret S or set MESHKIT_SECRET/],
    [['--name', 'alice', '--secret', 'x'.repeat(20), '--bogus'], {}, /Unknown option '--bogus'/],
    [['--secret', 'x'.repeat(20)], {}, /--name is required/],
    [['--name', 'alice'], { MESHKIT_SECRET: 'short' }, /invalid group secret/],
  ])('%j (env %j): one line, exit code 2', async (args, env, message) => {
    const { code, stderr } = await run(args, env)
    expect(code).toBe(2)
    expect(stderr).toMatch(message)
    expect(stderr).not.toMatch(/\n\s+at /) // no stack trace
  })

  it('--help prints the usage and exits 0', async () => {
    const p = spawnJsonProcess(MAIN, ['--help'])
    nodes.push(p)
    expect((await p.exited).code).toBe(0)
  })
})
