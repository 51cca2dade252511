/**
 * `pnpm bench failover --nodes N [--runs R] [--json]`: leader election over
 * real QUIC, one process per device on loopback (loopback-confined mDNS; no
 * sandbox needed). Times come from the devices' own event timestamps (all
 * processes on one machine, so Date.now() is comparable).
 *
 * crash_p50_ms / crash_p95_ms  leader SIGKILL until every survivor reports the same new leader (R runs; a fresh device replaces the killed one, so N stays constant)
 * graceful_p50_ms             leader `stepDown` command sent until every other device reports the same new leader (2R runs)
 * takeover_p50_ms             `becomeLeader` command sent until its result (acknowledged by every connected peer) (2R runs)
 * split_brain                 runs in which two devices logged different confirmed leaders for the same term
 */
import type { JsonEvent } from '@meshkit/testing'
import { agreed, confirmed, leadersByTerm, spawnDevice, type Agreed } from '../election/harness.js'
import { deviceGroup, readyPeers, startDevices, type Device } from '../mesh/harness.js'
import { parseArgs, printResult, progress, round, summary } from './_util.js'

const args = parseArgs()
const N = Number(args.nodes ?? 5)
const CRASH_RUNS = Number(args.runs ?? 10)
const GRACEFUL_RUNS = Number(args['graceful-runs'] ?? 2 * CRASH_RUNS)
const TAKEOVER_RUNS = Number(args['takeover-runs'] ?? 2 * CRASH_RUNS)
if (!(N >= 2) || !(CRASH_RUNS >= 1)) {
  process.stderr.write('usage: pnpm bench failover --nodes N (>= 2) [--runs R] [--json]\n')
  process.exit(2)
}

const group = deviceGroup(N)
const all = new Set<Device>()
const cleanup = (): void => {
  for (const d of all) d.proc.child.kill('SIGKILL')
}
process.once('SIGINT', () => {
  cleanup()
  process.exit(130)
})

let splitBrain = 0
const splitDetails: string[] = []

/** Runs `fn` as one run: afterwards, any term with two confirmed leaders in the logs written meanwhile (or the leader known at the start) counts as split brain. */
async function run<T>(kind: string, current: Agreed, fn: () => Promise<T>): Promise<T> {
  const from = new Map([...all].map((d) => [d.proc, d.proc.events.length]))
  const out = await fn()
  const split = [...leadersByTerm([...all].map((d) => d.proc), from, [current])].filter(([, ids]) => ids.size > 1)
  if (split.length > 0) {
    splitBrain++
    splitDetails.push(`${kind}: ${split.map(([t, ids]) => `term ${t}: ${[...ids].map((id) => id.slice(0, 8)).join('/')}`).join('; ')}`)
  }
  return out
}

/** When each device first reported `leader` confirmed, in its log after `since`. */
function firstSeen(d: Device, leader: Agreed, since: number): number {
  const e = d.proc.events.slice(since).find((x: JsonEvent) => x.ev === 'leader' && confirmed(x) && x.id === leader.id && x.term === leader.term)
  if (e === undefined) throw new Error(`device ${d.id} never reported ${leader.id}@${leader.term}`)
  return e.t as number
}

async function fullMesh(devices: Device[]): Promise<Agreed> {
  await Promise.all(devices.map((d) => readyPeers(d, devices.length - 1, 30_000)))
  return agreed(devices, 15_000)
}

try {
  progress(`failover: ${N} devices on loopback, ${CRASH_RUNS} crash, ${GRACEFUL_RUNS} graceful, ${TAKEOVER_RUNS} takeover runs`)
  let devices = await startDevices(group, N)
  for (const d of devices) all.add(d)
  let current = await fullMesh(devices)
  progress(`formed: leader ${current.id.slice(0, 8)} term ${current.term}`)

  // crashes first: a device that stepped down stays out of the running for stepDownHoldMs (2 s), so a
  // crash right after the graceful runs would be taken over by the next in rank, 500 ms later
  const crash: number[] = []
  for (let r = 0; r < CRASH_RUNS; r++) {
    current = await run('crash', current, async () => {
      const leader = devices.find((d) => d.id === current.id)!
      const survivors = devices.filter((d) => d !== leader)
      const since = survivors.map((d) => d.proc.events.length)
      const killedAt = Date.now()
      await leader.proc.kill('SIGKILL')
      const a = await agreed(survivors, 15_000, (x) => x.id !== current.id && x.term > current.term)
      const ms = Math.max(...survivors.map((d, i) => firstSeen(d, a, since[i]!))) - killedAt
      crash.push(ms)
      progress(`crash ${r + 1}/${CRASH_RUNS}: ${ms} ms`)
      // a fresh device takes the killed one's place, and the mesh settles before the next run
      const fresh = await spawnDevice(group, leader.index)
      all.add(fresh)
      devices = devices.map((d) => (d === leader ? fresh : d))
      const settled = await fullMesh(devices)
      if (settled.id !== a.id) progress(`note: the leader changed when the fresh device joined (${a.id.slice(0, 8)}@${a.term} -> ${settled.id.slice(0, 8)}@${settled.term})`)
      return settled
    })
  }
  progress(`crash: ${JSON.stringify(summary(crash))}`)

  const takeover: number[] = []
  const takeoverAll: number[] = []
  for (let r = 0; r < TAKEOVER_RUNS; r++) {
    current = await run('takeover', current, async () => {
      const candidates = devices.filter((d) => d.id !== current.id)
      const next = candidates[r % candidates.length]!
      const since = devices.map((d) => d.proc.events.length)
      const sentAt = Date.now()
      next.proc.send({ cmd: 'becomeLeader' })
      const result = await next.proc.waitFor('result', (e) => e.cmd === 'becomeLeader', 10_000, since[devices.indexOf(next)])
      if (result.ok !== true) throw new Error(`becomeLeader failed: ${JSON.stringify(result.error)}`)
      const a = await agreed(devices, 10_000, (x) => x.id === next.id && x.term > current.term)
      takeover.push((result.t as number) - sentAt)
      takeoverAll.push(Math.max(...devices.map((d, i) => firstSeen(d, a, since[i]!))) - sentAt)
      return a
    })
  }
  progress(`takeover: ${JSON.stringify(summary(takeover))}; until all report: ${JSON.stringify(summary(takeoverAll))}`)

  const graceful: number[] = []
  for (let r = 0; r < GRACEFUL_RUNS; r++) {
    current = await run('graceful', current, async () => {
      const leader = devices.find((d) => d.id === current.id)!
      const others = devices.filter((d) => d !== leader)
      const since = others.map((d) => d.proc.events.length)
      const sentAt = Date.now()
      leader.proc.send({ cmd: 'stepDown' })
      const a = await agreed(devices, 10_000, (x) => x.id !== current.id && x.term > current.term)
      graceful.push(Math.max(...others.map((d, i) => firstSeen(d, a, since[i]!))) - sentAt)
      return a
    })
  }
  progress(`graceful: ${JSON.stringify(summary(graceful))}`)

  for (const s of splitDetails) progress(`split brain: ${s}`)

  const c = summary(crash)
  printResult(
    {
      nodes: N,
      runs: CRASH_RUNS + GRACEFUL_RUNS + TAKEOVER_RUNS,
      crash_runs: CRASH_RUNS,
      graceful_runs: GRACEFUL_RUNS,
      takeover_runs: TAKEOVER_RUNS,
      crash_p50_ms: c.p50,
      crash_p95_ms: c.p95,
      crash_max_ms: c.max,
      graceful_p50_ms: round(summary(graceful).p50),
      graceful_p95_ms: round(summary(graceful).p95),
      takeover_p50_ms: round(summary(takeover).p50),
      takeover_p95_ms: round(summary(takeover).p95),
      takeover_all_p50_ms: round(summary(takeoverAll).p50),
      split_brain: splitBrain,
    },
    args.json === true,
  )
} finally {
  await Promise.all([...all].map((d) => d.proc.kill()))
}
