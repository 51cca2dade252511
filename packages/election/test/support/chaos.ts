/**
 * One seeded chaos run: 2-7 devices (availability, quorum or manual-only mode,
 * random priorities), a phase of random faults (crashes, restarts, graceful
 * stops, hung processes, partitions, single cut links, heals, message loss,
 * delay spikes, takeovers, step-downs), then calm. After the last fault it checks:
 *
 * - convergence: every connected component agrees on exactly one leader
 *   (quorum: none in a minority; manual-only: at most one) within {@link CONVERGENCE_BOUND_MS};
 * - stability: no view changes at all while nothing changes;
 * - takeover honoured: `becomeLeader()` on a connected follower resolves and
 *   everyone follows it; `stepDown()` hands to the expected successor with one
 *   claim; a crashed leader is replaced by the expected successor with one
 *   claim, within the detection time;
 * - every request settled (or its device crashed);
 * - and, all along, the simulator's safety invariants (see `Sim`).
 */
import { majorityOf, successorOrder } from '../../src/index.js'
import { Random } from './random.js'
import { short, Sim, type SimRequest } from './sim.js'

/** After the last fault, every component must agree within this much simulated time. */
export const CONVERGENCE_BOUND_MS = 12_000
/** Quiet time during which no view may change. */
const STABLE_MS = 3_000
/** Detection of a dead connection is at most this (the simulator's QUIC idle timeout). */
const DETECT_MAX_MS = 1_000

export interface SeedResult {
  seed: number
  setup: string
  failures: string[]
  /** Time from the last fault to agreement, ms. */
  convergeMs?: number
  /** Crash of the leader until every survivor follows the successor, ms. */
  failoverMs?: number
  takeoverMs?: number
  trace: string[]
}

export function runSeed(seed: number, trace = false): SeedResult {
  const rng = new Random(seed ^ 0x2545f491)
  const count = rng.int(2, 7)
  const mode = rng.chance(0.25) ? ('quorum' as const) : ('availability' as const)
  const manualOnly = rng.chance(0.1)
  const priorities = Array.from({ length: count }, () => (rng.chance(0.5) ? 0 : rng.int(0, 3)))
  const s = new Sim({ seed, nodes: priorities, mode, manualOnly, trace })
  const setup = `${count} devices, ${mode}${manualOnly ? ', manual-only' : ''}, priorities [${priorities.join(',')}]`
  const result: SeedResult = { seed, setup, failures: [], trace: s.trace }
  const requests: Array<SimRequest & { timeoutMs: number }> = []
  const ids = s.nodes.map((n) => n.id)

  // ---- chaos ----
  const chaosEnd = rng.between(500, 8_000)
  while (s.now < chaosEnd) {
    s.runFor(rng.between(10, 1_200))
    fault(s, rng, requests)
  }

  // ---- the last fault: hung processes are killed, most of the dead restart, heal or leave one partition ----
  for (const n of s.nodes) if (n.hung) s.crash(n.id)
  for (const n of s.nodes) if (!n.alive && rng.chance(0.7)) s.restart(n.id)
  if (rng.chance(0.3)) s.partition(split(rng, ids))
  else s.heal()
  s.loss = 0
  s.spike = 0

  const fail = (text: string): void => {
    result.failures.push(`t=${s.now.toFixed(1)} ${text}`)
  }
  const agree = (maxMs: number): number | undefined => {
    const took = s.runUntilTrue(() => s.disagreement() === undefined, maxMs, 5)
    if (took === undefined) fail(`no agreement within ${maxMs} ms: ${s.disagreement()}`)
    return took
  }
  const stable = (): void => {
    const changes = s.viewChanges
    s.runFor(STABLE_MS)
    if (s.viewChanges !== changes) fail(`leadership changed ${s.viewChanges - changes} times while nothing changed`)
  }

  const lastFault = s.now
  result.convergeMs = agree(CONVERGENCE_BOUND_MS)
  if (result.convergeMs !== undefined) {
    // Heartbeats lost just before the last fault may still time out a follower: that is the fault's doing.
    s.runUntil(Math.max(s.now, lastFault + s.timing.heartbeatTimeoutMs + 10))
    if (agree(CONVERGENCE_BOUND_MS) === undefined) return finish(s, result, requests, fail)
    stable()
    tail(s, rng, result, fail, agree, stable, requests)
  }
  return finish(s, result, requests, fail)
}

function finish(s: Sim, result: SeedResult, requests: Array<SimRequest & { timeoutMs: number }>, fail: (text: string) => void): SeedResult {
  for (const r of requests) {
    if (r.result === undefined && r.lost !== true && s.now - r.issuedAt > r.timeoutMs + 1) fail(`${r.kind} on ${short(r.node)} at t=${r.issuedAt.toFixed(1)} never settled`)
  }
  result.failures.push(...s.violations)
  return result
}

function fault(s: Sim, rng: Random, requests: Array<SimRequest & { timeoutMs: number }>): void {
  const alive = s.nodes.filter((n) => n.alive && n.exiting === undefined)
  const dead = s.nodes.filter((n) => !n.alive)
  const ids = s.nodes.map((n) => n.id)
  const r = rng.float()
  if (r < 0.14) {
    if (alive.length > 1) s.crash(rng.pick(alive).id)
  } else if (r < 0.28) {
    if (dead.length > 0) s.restart(rng.pick(dead).id)
  } else if (r < 0.34) {
    if (alive.length > 1) s.stop(rng.pick(alive).id)
  } else if (r < 0.46) {
    s.partition(split(rng, ids))
  } else if (r < 0.56) {
    s.heal()
  } else if (r < 0.64) {
    const a = rng.pick(ids)
    const b = rng.pick(ids)
    if (a !== b) s.cut(a, b, rng.chance(0.6))
  } else if (r < 0.8) {
    if (alive.length > 0) {
      const timeoutMs = rng.between(100, 3_000)
      requests.push(Object.assign(s.becomeLeader(rng.pick(alive).id, timeoutMs), { timeoutMs }))
    }
  } else if (r < 0.88) {
    const leader = alive.find((n) => n.leader.role === 'leader')
    const timeoutMs = rng.between(100, 3_000)
    if (leader !== undefined) requests.push(Object.assign(s.stepDown(leader.id, timeoutMs), { timeoutMs }))
  } else if (r < 0.91) {
    s.loss = rng.chance(0.5) ? 0 : rng.between(0, 0.2)
  } else if (r < 0.94) {
    // A hung process: connections stay up, nothing is processed (ended by a crash later).
    if (alive.length > 1) rng.pick(alive).hung = true
  } else {
    s.spike = rng.chance(0.5) ? 0 : rng.between(0, 0.1)
  }
}

/** Random groups (2-3) covering every device. */
function split(rng: Random, ids: string[]): string[][] {
  const k = rng.int(2, Math.min(3, ids.length))
  const groups: string[][] = Array.from({ length: k }, () => [])
  for (const id of rng.shuffle(ids)) (groups[rng.int(0, k - 1)] as string[]).push(id)
  return groups.filter((g) => g.length > 0)
}

/** Takeover, step-down and crash failover on the largest component, each followed by agreement and stability. */
function tail(
  s: Sim,
  rng: Random,
  result: SeedResult,
  fail: (text: string) => void,
  agree: (maxMs: number) => number | undefined,
  stable: () => void,
  requests: Array<SimRequest & { timeoutMs: number }>,
): void {
  const comp = s.components().sort((a, b) => b.length - a.length)[0] ?? []
  if (comp.length === 0) return
  const quorate = s.mode === 'availability' || comp.length >= majorityOf(s.nodes.length)
  const claims = (): number => s.nodes.reduce((n, x) => n + x.claims, 0)
  const leaderIn = (ids: string[]): string | undefined => ids.find((id) => s.node(id).leader.role === 'leader')

  // Takeover by a device that does not lead.
  const x = rng.pick(comp.filter((id) => s.node(id).leader.role !== 'leader').concat(comp.length === 1 ? comp : []))
  const take = Object.assign(s.becomeLeader(x, 2_000), { timeoutMs: 2_000 })
  requests.push(take)
  s.runUntilTrue(() => take.result !== undefined, 2_100, 1)
  if (!quorate) {
    if (take.result?.ok !== false || take.result.reason !== 'quorum-unavailable') fail(`takeover in a minority: expected quorum-unavailable, got ${JSON.stringify(take.result)}`)
    return
  }
  if (take.result?.ok !== true) return fail(`takeover by ${short(x)} with everyone connected failed: ${JSON.stringify(take.result)}`)
  result.takeoverMs = (take.settledAt ?? 0) - take.issuedAt
  if (result.takeoverMs > 20) fail(`takeover took ${result.takeoverMs.toFixed(1)} ms`)
  if (agree(100) === undefined) return
  if (leaderIn(comp) !== x) return fail(`after the takeover ${short(x)} does not lead`)
  stable()
  if (comp.length < 2) return

  // Graceful step-down: the expected successor, one claim.
  const successor = successorOrder(comp.filter((id) => id !== x).map((id) => ({ id, priority: s.node(id).priority })))[0]?.id as string
  const before = claims()
  const down = Object.assign(s.stepDown(x, 2_000), { timeoutMs: 2_000 })
  requests.push(down)
  s.runUntilTrue(() => down.result !== undefined, 2_100, 1)
  if (down.result?.ok !== true) return fail(`stepDown by ${short(x)} failed: ${JSON.stringify(down.result)}`)
  if (agree(100) === undefined) return
  if (leaderIn(comp) !== successor) return fail(`stepDown handed to ${short(leaderIn(comp) ?? '-')}, expected ${short(successor)}`)
  if (claims() !== before + 1) fail(`stepDown caused ${claims() - before} claims`)
  stable()

  // Crash of the leader: the expected successor, one claim, within the detection time.
  if (s.manualOnly) return
  const survivors = comp.filter((id) => id !== successor)
  if (s.mode === 'quorum' && survivors.length < majorityOf(s.nodes.length)) return
  const next = successorOrder(survivors.map((id) => ({ id, priority: s.node(id).priority })))[0]?.id as string
  const claimsBefore = claims()
  s.crash(successor)
  const took = s.runUntilTrue(() => survivors.every((id) => s.node(id).leader.id === next), 5_000, 1)
  if (took === undefined) return fail(`after the leader crashed, survivors do not all follow ${short(next)}: ${s.disagreement()}`)
  result.failoverMs = took
  if (took > DETECT_MAX_MS + 50) fail(`crash failover took ${took} ms`)
  if (claims() !== claimsBefore + 1) fail(`crash failover caused ${claims() - claimsBefore} claims`)
  // Agreement includes every survivor having noticed the dead connection (up to the detection time).
  if (agree(DETECT_MAX_MS + 100) !== undefined) stable()
}

/** Runs seeds `[from, to)`; returns the failed ones and aggregate figures. */
export function runSeeds(from: number, to: number): { failed: SeedResult[]; runs: number; maxConvergeMs: number; maxFailoverMs: number; maxTakeoverMs: number } {
  const failed: SeedResult[] = []
  let maxConvergeMs = 0
  let maxFailoverMs = 0
  let maxTakeoverMs = 0
  const only = process.env.MESHKIT_SEED !== undefined ? Number(process.env.MESHKIT_SEED) : undefined
  let runs = 0
  for (let seed = from; seed < to; seed++) {
    if (only !== undefined && seed !== only) continue
    runs++
    const r = runSeed(seed, only !== undefined)
    maxConvergeMs = Math.max(maxConvergeMs, r.convergeMs ?? 0)
    maxFailoverMs = Math.max(maxFailoverMs, r.failoverMs ?? 0)
    maxTakeoverMs = Math.max(maxTakeoverMs, r.takeoverMs ?? 0)
    if (r.failures.length > 0) failed.push(r.trace.length > 0 || only !== undefined ? r : { ...runSeed(seed, true), failures: r.failures })
  }
  return { failed, runs, maxConvergeMs, maxFailoverMs, maxTakeoverMs }
}

/** The failure report: seed, how to replay it, what failed, and the events up to the first failure. */
export function report(failed: SeedResult[]): string {
  return failed
    .slice(0, 3)
    .map((r) => {
      const first = Math.min(...r.failures.map((f) => Number(/^t=([\d.]+)/.exec(f)?.[1] ?? Infinity)))
      const events = r.trace.filter((line) => Number(line.trim().split(' ')[0]) <= first + 5).slice(-150)
      return (
        `seed ${r.seed} (${r.setup}) failed; replay with MESHKIT_SEED=${r.seed} node_modules/.bin/vitest run --project election simulation\n` +
        `${r.failures.slice(0, 10).join('\n')}\n--- events up to the first failure ---\n${events.join('\n')}`
      )
    })
    .join('\n\n')
}

/** Seeds of shard `i` (1-based) of `shards`; the total is `MESHKIT_SIM_SEEDS` (default 10,000). */
export function shardRange(i: number, shards: number): [number, number] {
  const total = Number(process.env.MESHKIT_SIM_SEEDS ?? 10_000)
  const size = Math.ceil(total / shards)
  return [(i - 1) * size, Math.min(total, i * size)]
}
