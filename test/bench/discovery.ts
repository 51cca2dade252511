/**
 * `pnpm bench discovery --nodes N [--loss PCT] [--json]`: mDNS discovery on a
 * sandbox LAN (needs root). Each device runs in its own namespace and process;
 * modules are loaded before the clock starts.
 *
 * pair_p50_ms / pair_max_ms  for each pair, from the later device's start() until both have found each other
 * all_pairs_ms               from the last start() until every pair is found
 * graceful_lost_ms           stop() of one device until every other reports it lost
 * crash_lost_ms              SIGKILL of one device until every other reports it lost
 * bonjour_*                  the same with bonjour-service's defaults, measured in the same run
 */
import { createSandboxLan, sandboxAvailable, type JsonProcess, type SandboxLan } from '@meshkit/testing'
import { resolve } from 'node:path'
import { DISCOVERY_FIXTURE, GROUP } from '../discovery/harness.js'
import { parseArgs, printResult, progress, summary } from './_util.js'

const args = parseArgs()
const N = Number(args.nodes ?? 10)
const LOSS = Number(args.loss ?? 0)
const TIMEOUT = Number(args.timeout ?? 60_000)
const BONJOUR = resolve(import.meta.dirname, '_bonjour-node.ts')
const QUIET_MS = 2_000

const status = sandboxAvailable()
if (!status.ok) {
  process.stderr.write(`discovery benchmark needs the sandbox LAN: ${status.reason}\n`)
  process.exit(2)
}

interface Measured {
  pair_p50_ms: number
  pair_max_ms: number
  all_pairs_ms: number
  graceful_lost_ms: number | null
  crash_lost_ms: number | null
  pairs_found: number
}

async function measure(lan: SandboxLan, spawn: (i: number) => JsonProcess, lostTimeoutMs: number): Promise<Measured> {
  const procs = lan.hosts.map((_, i) => spawn(i))
  const ready = await Promise.all(procs.map((p) => p.waitFor('ready', () => true, 60_000)))
  const ids = ready.map((e) => e.id as string)
  for (const p of procs) p.send({ cmd: 'start' })
  const t0 = (await Promise.all(procs.map((p) => p.waitFor('started', () => true, 30_000)))).map((e) => e.t0 as number)
  const foundAt = await Promise.all(
    procs.map((p, i) =>
      Promise.all(
        ids.map(async (id, j) => (i === j ? 0 : ((await p.waitFor('found', (e) => (e.peer as { id: string }).id === id, TIMEOUT).catch(() => ({ t: Number.NaN }))).t as number))),
      ),
    ),
  )
  const pairs: number[] = []
  let lastFound = 0
  for (let i = 0; i < N; i++) {
    for (let j = i + 1; j < N; j++) {
      const both = Math.max(foundAt[i]![j]!, foundAt[j]![i]!)
      pairs.push(both - Math.max(t0[i]!, t0[j]!))
      lastFound = Math.max(lastFound, both)
    }
  }
  const found = pairs.filter((p) => Number.isFinite(p))
  // departures are timed on a quiet LAN, after the startup announcements (1 s) are over
  await new Promise((r) => setTimeout(r, QUIET_MS))
  const gone = new Set<number>()
  const lostAfter = async (victim: number, act: () => Promise<number>): Promise<number | null> => {
    const since = procs.map((p) => p.events.length)
    const at = await act()
    const seen = await Promise.all(
      procs.map((p, i) => (i === victim || gone.has(i) ? Promise.resolve(at) : p.waitFor('lost', (e) => e.id === ids[victim], lostTimeoutMs, since[i]).then((e) => e.t as number, () => Number.NaN))),
    )
    gone.add(victim)
    const worst = Math.max(...seen) - at
    return Number.isFinite(worst) ? worst : null
  }
  const graceful = await lostAfter(0, async () => (await procs[0]!.request({ cmd: 'stop' }, 'stopping')).t as number)
  const crash = await lostAfter(1, async () => {
    const at = Date.now()
    await procs[1]!.kill('SIGKILL')
    return at
  })
  for (const p of procs) await p.kill()
  const s = summary(found)
  return {
    pair_p50_ms: s.p50,
    pair_max_ms: found.length === pairs.length ? s.max : Number.NaN,
    all_pairs_ms: found.length === pairs.length ? lastFound - Math.max(...t0) : Number.NaN,
    graceful_lost_ms: graceful,
    crash_lost_ms: crash,
    pairs_found: found.length,
  }
}

async function onLan<T>(fn: (lan: SandboxLan) => Promise<T>): Promise<T> {
  const lan = await createSandboxLan({ hosts: N })
  try {
    if (LOSS > 0) await Promise.all(lan.hosts.map((h) => h.loss(LOSS, 'ingress')))
    return await fn(lan)
  } finally {
    await lan.destroy()
  }
}

progress(`discovery: ${N} devices, ${LOSS}% receive loss`)
const meshkit = await onLan((lan) => measure(lan, (i) => lan.host(i).spawnNode(DISCOVERY_FIXTURE, [JSON.stringify({ groupTag: GROUP, interfaces: ['eth0'], deferStart: true, ...(args.ipv6 === 'false' ? { ipv6: false } : {}) })]), 15_000))
progress(`meshkit: ${JSON.stringify(meshkit)}`)
const bonjour = args['no-baseline'] === true ? undefined : await onLan((lan) => measure(lan, (i) => lan.host(i).spawnNode(BONJOUR, [], { nodeArgs: ['--import', 'tsx'] }), 15_000))
if (bonjour !== undefined) progress(`bonjour-service (defaults): ${JSON.stringify(bonjour)}`)

const num = (n: number | null): number | null => (n === null || !Number.isFinite(n) ? null : Math.round(n))
printResult(
  {
    nodes: N,
    loss_pct: LOSS,
    pairs: (N * (N - 1)) / 2,
    pairs_found: meshkit.pairs_found,
    pair_p50_ms: num(meshkit.pair_p50_ms),
    pair_max_ms: num(meshkit.pair_max_ms),
    all_pairs_ms: num(meshkit.all_pairs_ms),
    graceful_lost_ms: num(meshkit.graceful_lost_ms),
    crash_lost_ms: num(meshkit.crash_lost_ms),
    ...(bonjour !== undefined
      ? {
          bonjour_pairs_found: bonjour.pairs_found,
          bonjour_pair_max_ms: num(bonjour.pair_max_ms),
          bonjour_all_pairs_ms: num(bonjour.all_pairs_ms),
          bonjour_graceful_lost_ms: num(bonjour.graceful_lost_ms),
          bonjour_crash_lost_ms: num(bonjour.crash_lost_ms),
        }
      : {}),
  },
  args.json === true,
)
