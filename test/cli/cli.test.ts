/**
 * The `meshkit` command as users run it: separate processes on loopback
 * (discovery confined to 127.0.0.1), through dist/bin.js.
 */
import { generateGroupSecret } from '@meshkit/mesh'
import { spawnJsonProcess, type JsonProcess } from '@meshkit/testing'
import { spawn } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { resolve } from 'node:path'
import { afterEach, describe, expect, test } from 'vitest'

const BIN = resolve(import.meta.dirname, '../../packages/cli/dist/bin.js')

interface Ran {
  code: number | null
  stdout: string
  stderr: string
}

function meshkit(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<Ran> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, MESHKIT_SECRET: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`meshkit ${args.join(' ')} did not finish within ${timeoutMs} ms\n${stdout}\n${stderr}`))
    }, timeoutMs)
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolveRun({ code, stdout, stderr })
    })
  })
}

const app = (): string => `cli${Math.random().toString(36).slice(2, 10)}`
const running: JsonProcess[] = []
const up = (args: string[], secret: string): JsonProcess => {
  const p = spawnJsonProcess(BIN, ['up', '--json', ...args], { env: { ...process.env, MESHKIT_SECRET: secret } })
  running.push(p)
  return p
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.kill()))
})

describe('meshkit: user errors', () => {
  test('unknown commands and flags, a missing or short secret, lead without up: one clear line, exit 2, no stack trace', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['launch'], /unknown command "launch"/],
      [['up', '--bogus'], /unknown flag --bogus/],
      [['up'], /no group secret/],
      [['up', '--secret', 'short'], /invalid group secret: it has 5 bytes, at least 16/],
      [['lead', '--app', app()], /no running `meshkit up/],
      [['send', 'only-channel'], /takes 2 arguments/],
    ]
    for (const [args, message] of cases) {
      const r = await meshkit(args)
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.stderr, args.join(' ')).toMatch(message)
      expect(r.stderr, args.join(' ')).not.toMatch(/\n\s+at /)
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1)
    }
  })

  test('help and secret', async () => {
    const help = await meshkit(['help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/up[\s\S]*peers[\s\S]*send[\s\S]*lead[\s\S]*doctor[\s\S]*demo/)
    const secret = await meshkit(['secret'])
    expect(secret.code).toBe(0)
    expect(secret.stdout.trim().length).toBeGreaterThanOrEqual(16)
  })
})

describe('meshkit up, peers, send, lead', () => {
  test('two devices mesh; peers, send and lead go through the running up', async () => {
    const secret = generateGroupSecret()
    const a = app()
    const first = up(['--app', a], secret)
    const ids = [(await first.waitFor('up', () => true, 30_000)).id as string]
    const second = up(['--app', a], secret)
    ids.push((await second.waitFor('up', () => true, 30_000)).id as string)
    await Promise.all([first.waitFor('peer', (e) => e.state === 'ready', 20_000), second.waitFor('peer', (e) => e.state === 'ready', 20_000)])

    const peers = await meshkit(['peers', '--app', a, '--json'])
    expect(peers.code).toBe(0)
    const listed = JSON.parse(peers.stdout) as { peers: Array<{ id: string; state: string }> }
    expect(listed.peers.map((p) => [p.id, p.state])).toEqual([[ids[1], 'ready']])

    const sent = await meshkit(['send', '--app', a, 'chat', 'hello there'])
    expect(sent.code).toBe(0)
    expect(sent.stdout).toContain('sent to 1 peer(s)')
    const got = await second.waitFor('message', (e) => e.channel === 'chat', 10_000)
    expect(got).toMatchObject({ from: ids[0], payload: 'hello there' })

    const led = await meshkit(['lead', '--app', a, '--json'])
    expect(led.code).toBe(0)
    const view = JSON.parse(led.stdout) as { id: string; term: number }
    expect(view.id).toBe(ids[0])
    await second.waitFor('leader', (e) => e.id === ids[0] && e.term === view.term, 10_000)
  })

  test('send without a running up joins for a moment; with nobody there it says so and sends nothing', async () => {
    const secret = generateGroupSecret()
    const a = app()
    const r = await meshkit(['send', '--app', a, '--wait', '500', 'chat', 'anyone?'], { MESHKIT_SECRET: secret })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/no peer became ready within 500 ms: nothing was sent/)
  })
})

describe('meshkit doctor', () => {
  test('on loopback: node, the UDP port and multicast pass; a device of another group is named', async () => {
    const a = app()
    const other = up(['--app', a], generateGroupSecret())
    await other.waitFor('up', () => true, 30_000)
    const r = await meshkit(['doctor', '--app', a, '--json', '--wait', '2500'], { MESHKIT_SECRET: generateGroupSecret() })
    const checks = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { check: string; verdict: string; detail: string })
    const verdict = (name: string): string | undefined => checks.find((c) => c.check === name)?.verdict
    expect(verdict('node')).toBe('ok')
    expect(verdict('udp port')).toBe('ok')
    expect(verdict('multicast')).toBe('ok')
    expect(checks.find((c) => c.check === 'foreign groups')).toMatchObject({ verdict: 'warn', detail: expect.stringContaining('1 device(s) of this app in other groups') })
    expect(r.code).toBe(0)
  })

  test('a UDP port in use is a failure with what to do, exit 1', async () => {
    const taken = createSocket('udp4')
    await new Promise<void>((r) => taken.bind(0, '127.0.0.1', () => r()))
    try {
      const r = await meshkit(['doctor', '--app', app(), '--port', String(taken.address().port), '--wait', '200'], { MESHKIT_SECRET: generateGroupSecret() })
      expect(r.code).toBe(1)
      expect(r.stdout).toMatch(/FAIL\s+udp port: cannot bind UDP port \d+: EADDRINUSE/)
      expect(r.stdout).toContain('pick another --port')
    } finally {
      taken.close()
    }
  })
})

describe('meshkit demo', () => {
  test('discovery, one connection per pair, election, broadcast, takeover and failover, then nothing left running', async () => {
    const r = await meshkit(['demo', '--nodes', '3', '--json'], {}, 120_000)
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { ev: string; connections?: number[]; id?: string; term?: number })
    expect(events.map((e) => e.ev)).toEqual(['starting', 'device', 'device', 'device', 'mesh', 'leader', 'broadcast', 'takeover', 'failover', 'done'])
    expect(events.find((e) => e.ev === 'mesh')?.connections).toEqual([2, 2, 2])
    const [leader, takeover, failover] = ['leader', 'takeover', 'failover'].map((ev) => events.find((e) => e.ev === ev)!)
    expect(takeover!.term).toBeGreaterThan(leader!.term!)
    expect(failover!.term).toBeGreaterThan(takeover!.term!)
    expect(failover!.id).not.toBe(takeover!.id)
  })
})
