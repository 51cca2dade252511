/**
 * Three real remote-control processes on loopback: followers apply the
 * leader's commands; a follower takes over with /lead and is obeyed while the
 * old leader is not; a leader paused through the takeover (SIGSTOP: a GC pause,
 * a frozen laptop) is fenced by its stale term; killing the leader (SIGKILL)
 * elects a new one whose commands are applied.
 */
import type { JsonEvent, JsonProcess } from '@meshkit/testing'
import { spawn } from 'node:child_process'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { agreedLeader, assertBuilt, count, freshMesh, leaderOf, MAIN, spawnNode, type, until } from './nodes.js'

const DEADLINE = 45_000
const nodes: JsonProcess[] = []

beforeAll(assertBuilt)
afterEach(async () => {
  // also when a test failed: no process outlives its test (SIGKILL works on a stopped one too)
  await Promise.all(nodes.splice(0).map(async (n) => n.kill()))
})

const isSet =
  (key: string, value: string) =>
  (e: JsonEvent): boolean => {
    const c = e.command as { op?: string; key?: string; value?: string } | undefined
    return c?.op === 'set' && c.key === key && c.value === value
  }

/** Peers a node reports as joined and not left since. */
function readyPeers(n: JsonProcess): Set<string> {
  const ready = new Set<string>()
  for (const e of n.events) {
    if (e.ev !== 'peer') continue
    if (e.state === 'joined') ready.add(String(e.id))
    else ready.delete(String(e.id))
  }
  return ready
}

/** Three nodes, connected to each other, agreeing on a leader. */
async function startMesh(): Promise<{ all: JsonProcess[]; ids: Map<JsonProcess, string>; leader: JsonProcess; followers: [JsonProcess, JsonProcess] }> {
  const mesh = freshMesh()
  const all = [0, 1, 2].map(() => spawnNode(mesh))
  nodes.push(...all)
  const ids = new Map<JsonProcess, string>()
  await Promise.all(all.map(async (n) => ids.set(n, String((await n.waitFor('started', () => true, DEADLINE)).id))))
  await until(all, 'every node connected to the two others', () => all.every((n) => readyPeers(n).size === 2) || undefined, DEADLINE)
  const leader = await until(all, 'a leader all three agree on', () => agreedLeader(all, ids), DEADLINE)
  const [f1, f2] = all.filter((n) => n !== leader) as [JsonProcess, JsonProcess]
  return { all, ids, leader, followers: [f1, f2] }
}

describe('remote-control: three processes on loopback', () => {
  it('followers obey the leader; /lead moves the lead and the old leader is not obeyed; SIGKILL of the leader elects a new one', { timeout: 150_000 }, async () => {
    const { all, ids, leader: first, followers } = await startMesh()
    const [f1, f2] = followers

    // the leader's commands are applied by both followers
    type(first, 'set color red')
    for (const n of followers) {
      const applied = await n.waitFor('applied', isSet('color', 'red'), DEADLINE)
      expect(applied).toMatchObject({ from: ids.get(first), state: { color: 'red' } })
    }
    type(first, 'ping')
    await until([first], 'a pong from both followers', () => (count(first, 'pong', () => true) >= 2 ? true : undefined), DEADLINE)

    // a follower takes over
    const firstTerm = leaderOf(first)!.term
    type(f1, '/lead')
    const lead = await f1.waitFor('lead', () => true, DEADLINE)
    expect(lead).toMatchObject({ ok: true })
    await until(all, 'all three following the follower that typed /lead', () => (agreedLeader(all, ids) === f1 ? true : undefined), DEADLINE)
    expect(Number(lead.term)).toBeGreaterThan(firstTerm)

    // its commands are obeyed, by the old leader too
    type(f1, 'set color blue')
    for (const n of [first, f2]) await n.waitFor('applied', isSet('color', 'blue'), DEADLINE)

    // the old leader's command is not: it knows it no longer leads and refuses to send it
    type(first, 'set color green')
    expect(await first.waitFor('rejected', isSet('color', 'green'), DEADLINE)).toMatchObject({ reason: 'not-leader', leader: ids.get(f1) })
    // the new leader's next command arrives after anything the old one could have sent
    type(f1, 'set marker 1')
    for (const n of [first, f2]) {
      const applied = await n.waitFor('applied', isSet('marker', '1'), DEADLINE)
      expect(applied.state).toEqual({ color: 'blue', marker: '1' })
    }
    for (const n of all) expect(count(n, 'applied', isSet('color', 'green')) + count(n, 'sent', isSet('color', 'green'))).toBe(0)

    // failover: the leader's process is killed; the two left elect one of them, whose commands are applied
    await f1.kill('SIGKILL')
    const rest = [first, f2]
    const next = await until(rest, 'a new leader the two remaining nodes agree on', () => agreedLeader(rest, ids), DEADLINE)
    const other = rest.find((n) => n !== next)!
    type(next, 'set color yellow')
    const applied = await other.waitFor('applied', isSet('color', 'yellow'), DEADLINE)
    expect(applied.from).toBe(ids.get(next))
    expect(Number(applied.term)).toBeGreaterThan(Number(lead.term))
    expect(applied.state).toEqual({ color: 'yellow', marker: '1' })
  })

  it("a leader paused through a takeover is fenced: its command, stamped with its old term, is ignored", { timeout: 150_000 }, async () => {
    const { ids, leader: old, followers } = await startMesh()
    const [f1, f2] = followers
    type(old, 'set mode auto')
    for (const n of followers) await n.waitFor('applied', isSet('mode', 'auto'), DEADLINE)
    const oldTerm = leaderOf(old)!.term

    // freeze the leader; a follower takes over meanwhile
    old.child.kill('SIGSTOP')
    try {
      type(f1, '/lead')
      expect(await f1.waitFor('lead', () => true, DEADLINE)).toMatchObject({ ok: true })
      await until([f2], 'the other follower following the new leader', () => (leaderOf(f2)?.id === ids.get(f1) ? true : undefined), DEADLINE)
      // typed while frozen: read the moment it runs again, before it hears of the new term
      type(old, 'set mode manual')
    } finally {
      old.child.kill('SIGCONT')
    }

    const attempt = await until([old], 'the old leader handling the line', () => old.events.find((e) => (e.ev === 'sent' || e.ev === 'rejected') && isSet('mode', 'manual')(e)), DEADLINE)
    // (if it had heard of the new term first, it would have refused to send: a different, also safe, outcome)
    expect(attempt.ev, 'the paused leader should still believe it leads when it wakes up').toBe('sent')
    expect(attempt.term).toBe(oldTerm)

    // both others drop it: its term is older than the leader they follow
    for (const n of followers) {
      const ignored = await n.waitFor('ignored', isSet('mode', 'manual'), DEADLINE)
      expect(ignored).toMatchObject({ from: ids.get(old), term: oldTerm, reason: 'stale' })
      expect(Number(ignored.currentTerm)).toBeGreaterThan(oldTerm)
    }
    // the old leader learns of the new one and follows; the new leader is obeyed by all
    await until([old], 'the old leader following the new one', () => (leaderOf(old)?.id === ids.get(f1) ? true : undefined), DEADLINE)
    type(f1, 'set mode eco')
    for (const n of [old, f2]) await n.waitFor('applied', isSet('mode', 'eco'), DEADLINE)
    for (const n of followers) expect(count(n, 'applied', isSet('mode', 'manual'))).toBe(0)
    expect(f2.events.findLast((e) => e.ev === 'applied')?.state).toEqual({ mode: 'eco' })
  })
})

describe('remote-control: user errors', () => {
  const run = async (args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stderr: string }> =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'ignore', 'pipe'] })
      let stderr = ''
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
      child.on('exit', (code) => resolve({ code, stderr }))
    })

  it.each([
    [[], {}, /no group secret/],
    [['--secret', 'x'.repeat(20), '--priority', 'high'], {}, /--priority must be a number/],
    [['--secret', 'x'.repeat(20), '--verbose'], {}, /Unknown option '--verbose'/],
    [[], { MESHKIT_SECRET: 'short' }, /invalid group secret/],
  ])('%j (env %j): one line, exit code 2', async (args, env, message) => {
    const { code, stderr } = await run(args, env)
    expect(code).toBe(2)
    expect(stderr).toMatch(message)
    expect(stderr).not.toMatch(/\n\s+at /)
  })
})
