/**
 * `pnpm bench dedup [--nodes 10] [--trials 20] [--json]`: N devices in N
 * processes started together with full static address lists (half the trials
 * addresses only, half with ids); counts the connections left at the end of
 * each trial. Target: min = max = N(N-1)/2.
 */
import { connectionKeys, ProcessMesh } from '../connection/harness.js'
import { parseArgs, printResult, progress, summary } from './_util.js'

const args = parseArgs()
const nodes = Number(args.nodes ?? 10)
const trials = Number(args.trials ?? 20)
const expected = (nodes * (nodes - 1)) / 2

const mesh = new ProcessMesh(nodes)
const counts: number[] = []
const formation: number[] = []
try {
  await mesh.spawn()
  for (let trial = 0; trial < trials; trial++) {
    await mesh.start()
    const t0 = Date.now()
    mesh.introduce(trial % 2 === 1)
    const reports = await mesh.until(
      (r) => r.diagnostics.activePeers === nodes - 1 && r.diagnostics.transportConnections === nodes - 1 && r.diagnostics.pendingHellos === 0,
      30_000,
      `trial ${trial}`,
    ).catch(async () => mesh.reports())
    formation.push(Date.now() - t0)
    const { keys, problems } = connectionKeys(reports)
    counts.push(problems.length === 0 ? keys.size : -keys.size)
    progress(`trial ${trial} (${trial % 2 === 1 ? 'ids' : 'addresses only'}): ${keys.size} connections in ${formation.at(-1)} ms${problems.length > 0 ? `; ${problems.join('; ')}` : ''}`)
    await mesh.stopLayers()
  }
} finally {
  await mesh.destroy()
}
const sizes = counts.map(Math.abs)
printResult(
  {
    nodes,
    trials,
    expected,
    min_connections: Math.min(...sizes),
    max_connections: Math.max(...sizes),
    trials_with_problems: counts.filter((c) => c < 0).length,
    formation_p50_ms: summary(formation).p50,
  },
  args.json === true,
)
