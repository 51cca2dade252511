/**
 * `pnpm bench formation --nodes N [--rounds R] [--json]`: N meshes, each in
 * its own network namespace and process on a sandbox LAN (needs root), real
 * mDNS and QUIC. Modules are loaded before the clock starts.
 *
 * full_mesh_ms             N-1 devices have formed their mesh; from the last device's start() call until
 *                          every device reports N-1 ready peers (median of the rounds)
 * full_mesh_max_ms         the worst round
 * cold_start_full_mesh_ms  all N told to start at the same moment, until every device has N-1 ready peers
 * discovery_ms        baseline in the same run: discovery alone (no connections), last start() until every pair is found
 * rss_mb_per_node     resident memory per device process once the mesh is formed (mean)
 * bare_node_rss_mb    a Node process with nothing loaded, for scale
 * connections         transport connections per device when measured (N-1 when each pair has exactly one)
 */
import { createSandboxLan, sandboxAvailable, waitForReadyPeers, type JsonProcess, type SandboxLan } from '@meshkit/testing'
import { spawnSync } from 'node:child_process'
import { DISCOVERY_FIXTURE } from '../discovery/harness.js'
import { deviceGroup } from '../mesh/harness.js'
import { parseArgs, printResult, progress, round, summary } from './_util.js'

const args = parseArgs()
const N = Number(args.nodes ?? 10)
const ROUNDS = Number(args.rounds ?? 3)
const TIMEOUT = Number(args.timeout ?? 60_000)

const status = sandboxAvailable()
if (!status.ok) {
  process.stderr.write(`formation benchmark needs the sandbox LAN: ${status.reason}\n`)
  process.exit(2)
}

interface Round {
  fullMeshMs: number
  rssMb: number
  connections: number[]
}

/** Starts every device at once; resolves with the last start() time. */
async function startAll(procs: JsonProcess[], readyEvent: string): Promise<number> {
  await Promise.all(procs.map((p) => p.waitFor(readyEvent, () => true, 60_000)))
  for (const p of procs) p.send({ cmd: 'start' })
  const started = await Promise.all(procs.map((p) => p.waitFor('started', () => true, 30_000)))
  return Math.max(...started.map((e) => e.t0 as number))
}

/** The time `p` reported `count` ready peers. */
const readyAt = async (p: JsonProcess, count: number): Promise<number> => (await waitForReadyPeers(p, count, TIMEOUT)).t as number

/**
 * `join`: N-1 devices form their mesh first, then the last one starts (the
 * clock starts at its start() call). `cold`: all N start at the same moment,
 * competing for the machine's two cores.
 */
async function meshRound(lan: SandboxLan, mode: 'join' | 'cold'): Promise<Round> {
  const group = deviceGroup(N, { lan, args: { deferStart: true, election: { manualOnly: true } } })
  const procs = lan.hosts.map((_, i) => group.spawn(i))
  try {
    let t0: number
    if (mode === 'cold') t0 = await startAll(procs, 'loaded')
    else {
      const first = procs.slice(0, -1)
      await startAll(first, 'loaded')
      await Promise.all(first.map((p) => readyAt(p, N - 2)))
      t0 = await startAll(procs.slice(-1), 'loaded')
    }
    const formed = await Promise.all(procs.map((p) => readyAt(p, N - 1)))
    const reports = await Promise.all(procs.map((p) => p.request({ cmd: 'report' }, 'result')))
    const values = reports.map((r) => r.value as { rss: number; diagnostics: { transportConnections: number } })
    return {
      fullMeshMs: Math.max(...formed) - t0,
      rssMb: values.reduce((s, v) => s + v.rss, 0) / values.length / 2 ** 20,
      connections: values.map((v) => v.diagnostics.transportConnections),
    }
  } finally {
    await Promise.all(procs.map((p) => p.kill()))
  }
}

async function discoveryRound(lan: SandboxLan): Promise<number> {
  const group = `f${Math.random().toString(36).slice(2, 8)}`
  const procs = lan.hosts.map((_, i) => lan.host(i).spawnNode(DISCOVERY_FIXTURE, [JSON.stringify({ groupTag: group, interfaces: ['eth0'], deferStart: true })]))
  try {
    const t0 = await startAll(procs, 'ready')
    const found = await Promise.all(
      procs.map(async (p) => {
        const seen = new Set<string>()
        const e = await p.waitFor(
          'found',
          (ev) => {
            seen.add((ev.peer as { id: string }).id)
            return seen.size >= N - 1
          },
          TIMEOUT,
          0,
        )
        return e.t as number
      }),
    )
    return Math.max(...found) - t0
  } finally {
    await Promise.all(procs.map((p) => p.kill()))
  }
}

/** Resident memory of a Node process with nothing loaded, on this machine (the floor of any per-node figure). */
function bareNodeRssMb(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.memoryUsage().rss))'], { encoding: 'utf8' })
  return Number(r.stdout) / 2 ** 20
}

progress(`formation: ${N} devices, ${ROUNDS} rounds`)
const lan = await createSandboxLan({ hosts: N })
const join: Round[] = []
const cold: Round[] = []
const discovery: number[] = []
try {
  for (let r = 0; r < ROUNDS; r++) {
    discovery.push(await discoveryRound(lan))
    join.push(await meshRound(lan, 'join'))
    cold.push(await meshRound(lan, 'cold'))
    progress(
      `round ${r}: last device joins ${Math.round(join.at(-1)!.fullMeshMs)} ms, all start at once ${Math.round(cold.at(-1)!.fullMeshMs)} ms (discovery alone ${Math.round(discovery.at(-1)!)} ms), rss ${round(join.at(-1)!.rssMb)} MB`,
    )
  }
} finally {
  await lan.destroy()
}
const p50 = (rounds: Round[]): number => Math.round(summary(rounds.map((r) => r.fullMeshMs)).p50)
printResult(
  {
    nodes: N,
    rounds: ROUNDS,
    full_mesh_ms: p50(join),
    full_mesh_max_ms: Math.round(summary(join.map((r) => r.fullMeshMs)).max),
    cold_start_full_mesh_ms: p50(cold),
    discovery_ms: Math.round(summary(discovery).p50),
    rss_mb_per_node: round(summary(join.map((r) => r.rssMb)).p50),
    bare_node_rss_mb: round(bareNodeRssMb()),
    connections_per_node: [...new Set([...join, ...cold].flatMap((r) => r.connections))].join('/'),
  },
  args.json === true,
)
