/**
 * `pnpm bench idle --nodes N [--json]`: what a formed, quiet mesh costs. N
 * devices in a sandbox LAN (needs root) form a full mesh; then, with no
 * messages flowing, the CPU time of all device processes is measured over 5 s.
 * Keepalives, heartbeats and mDNS refreshes are all that runs.
 *
 * idle_cpu_pct_of_core        all devices together, percent of one core
 * idle_cpu_pct_per_device     per device
 *
 * `--connection '{"keepAliveMs":1000}'` passes connection-layer options to every device.
 */
import { createSandboxLan, sandboxAvailable, waitForReadyPeers } from '@meshkit/testing'
import { deviceGroup } from '../mesh/harness.js'
import { cpuTimeMs, parseArgs, printResult, round } from './_util.js'

const args = parseArgs()
const N = Number(args.nodes ?? 10)
const status = sandboxAvailable()
if (!status.ok) {
  process.stderr.write(`idle benchmark needs the sandbox LAN: ${status.reason}\n`)
  process.exit(2)
}
const connection = typeof args.connection === 'string' ? (JSON.parse(args.connection) as Record<string, number>) : undefined

const lan = await createSandboxLan({ hosts: N })
try {
  const group = deviceGroup(N, { lan, args: { election: { manualOnly: true }, ...(connection !== undefined ? { connection } : {}) } })
  const procs = lan.hosts.map((_, i) => group.spawn(i))
  await Promise.all(procs.map((p) => waitForReadyPeers(p, N - 1, 120_000)))
  // the start-up announcements are over after ~1 s; measure the quiet mesh after that
  await new Promise((r) => setTimeout(r, 3_000))
  const t0 = Date.now()
  const pids = procs.map((p) => p.child.pid!)
  const c0 = cpuTimeMs(pids)
  await new Promise((r) => setTimeout(r, 5_000))
  const pct = ((cpuTimeMs(pids) - c0) / (Date.now() - t0)) * 100
  await Promise.all(procs.map((p) => p.kill()))
  printResult({ nodes: N, idle_cpu_pct_of_core: round(pct), idle_cpu_pct_per_device: round(pct / N, 2), ...(connection !== undefined ? { connection: JSON.stringify(connection) } : {}) }, args.json === true)
} finally {
  await lan.destroy()
}
