/**
 * `meshkit demo`: a mesh of several device processes on this machine, put
 * through what meshkit promises: discovery, one connection per pair, an
 * elected leader, a broadcast, a takeover and a failover. Discovery stays on
 * loopback unless --lan. Every process it starts, it ends.
 */
import { generateGroupSecret } from '@meshkit/mesh'
import { MESH_NODE_FIXTURE, spawnJsonProcess, waitForAgreedLeader, waitForReadyPeers, type JsonEvent, type JsonProcess } from '@meshkit/testing'
import type { Invocation } from '../args.js'
import type { Io } from '../io.js'

const STEP_TIMEOUT_MS = 20_000

interface Device {
  proc: JsonProcess
  id: string
  name: string
}

export async function demo(inv: Invocation, io: Io, signal: AbortSignal): Promise<number> {
  const n = inv.flags.nodes ?? 4
  const secret = generateGroupSecret()
  const app = `demo${Math.random().toString(36).slice(2, 8)}`
  const t0 = Date.now()
  const stamp = (): string => `${String(Date.now() - t0).padStart(6)} ms`
  const step = (line: string, json: Record<string, unknown>): void => io.out(inv.flags.json ? JSON.stringify({ t: Date.now() - t0, ...json }) : `${stamp()}  ${line}`)
  const args = JSON.stringify({
    secret,
    app,
    storage: 'memory',
    watch: ['demo'],
    ...(inv.flags.lan ? (inv.flags.interfaces !== undefined ? { interfaces: inv.flags.interfaces } : {}) : { loopbackOnly: true, mdns: { mdnsPort: 20_000 + Math.floor(Math.random() * 30_000) } }),
  })
  const devices: Device[] = []
  const procs: JsonProcess[] = []
  const cleanup = async (): Promise<void> => {
    await Promise.all(procs.map((p) => p.kill().catch(() => undefined)))
  }
  const onAbort = (): void => void cleanup()
  signal.addEventListener('abort', onAbort, { once: true })
  const name = (id: string | undefined): string => devices.find((d) => d.id === id)?.name ?? String(id).slice(0, 8)
  try {
    step(`starting ${n} devices, each its own process (${inv.flags.lan ? 'discovery on the LAN' : 'discovery confined to loopback'})`, { ev: 'starting', nodes: n, lan: inv.flags.lan })
    for (let i = 0; i < n; i++) procs.push(spawnJsonProcess(MESH_NODE_FIXTURE, [args]))
    const started = await Promise.all(procs.map((p) => p.waitFor('started', () => true, STEP_TIMEOUT_MS)))
    started.forEach((e, i) => devices.push({ proc: procs[i]!, id: e.id as string, name: `device-${i + 1}` }))
    for (const d of devices) step(`${d.name} is ${d.id}`, { ev: 'device', name: d.name, id: d.id })

    // discovery and connections
    await Promise.all(devices.map((d) => readyPeers(d, n - 1)))
    const reports = await Promise.all(devices.map((d) => report(d)))
    const connections = reports.map((r) => (r.diagnostics as { transportConnections: number }).transportConnections)
    step(`full mesh: every device found the ${n - 1} others over mDNS and holds one authenticated QUIC connection to each (${(n * (n - 1)) / 2} connections, one per pair)`, {
      ev: 'mesh',
      connections: connections,
    })

    // election
    let leader = await agreedLeader(devices)
    step(`leader elected: ${name(leader.id)} (term ${leader.term}), all ${n} agree`, { ev: 'leader', id: leader.id, term: leader.term })

    // broadcast
    const sender = devices.find((d) => d.id !== leader.id)!
    const since = devices.map((d) => d.proc.events.length)
    const sent = Date.now()
    await command(sender, { cmd: 'broadcast', channel: 'demo', payload: `hello from ${sender.name}` })
    await Promise.all(devices.filter((d) => d !== sender).map((d) => d.proc.waitFor('msg', (e) => e.from === sender.id, STEP_TIMEOUT_MS, since[devices.indexOf(d)])))
    step(`broadcast: ${sender.name} said hello, the ${n - 1} others got it once each (${Date.now() - sent} ms)`, { ev: 'broadcast', from: sender.id })

    // takeover
    const taker = devices.filter((d) => d.id !== leader.id).at(-1)!
    const asked = Date.now()
    await command(taker, { cmd: 'becomeLeader' })
    leader = await agreedLeader(devices, leader.id)
    step(`takeover: ${taker.name} asked to lead and was acknowledged by all (${Date.now() - asked} ms): leader ${name(leader.id)}, term ${leader.term}`, { ev: 'takeover', id: leader.id, term: leader.term })

    // failover
    const victim = devices.find((d) => d.id === leader.id)!
    const killedAt = Date.now()
    await victim.proc.kill('SIGKILL')
    const survivors = devices.filter((d) => d !== victim)
    leader = await agreedLeader(survivors, victim.id)
    step(`failover: killed ${victim.name} (the leader, SIGKILL); the ${survivors.length} survivors agreed on ${name(leader.id)}, term ${leader.term}, after ${Date.now() - killedAt} ms`, {
      ev: 'failover',
      id: leader.id,
      term: leader.term,
      ms: Date.now() - killedAt,
    })

    // goodbye
    await Promise.all(survivors.map((d) => d.proc.request({ cmd: 'exit' }, 'never', 5_000).catch(() => undefined)))
    step('stopped every device: goodbyes sent, nothing left running', { ev: 'done' })
    return 0
  } finally {
    signal.removeEventListener('abort', onAbort)
    await cleanup()
  }
}

const agreedLeader = (devices: Device[], notId?: string): Promise<{ id: string; term: number }> =>
  waitForAgreedLeader(
    devices.map((d) => d.proc),
    STEP_TIMEOUT_MS,
    notId,
  )

const readyPeers = (d: Device, count: number): Promise<unknown> => waitForReadyPeers(d.proc, count, STEP_TIMEOUT_MS)

async function command(d: Device, cmd: Record<string, unknown>): Promise<JsonEvent> {
  const result = await d.proc.request(cmd, 'result', STEP_TIMEOUT_MS)
  if (result.ok !== true) throw new Error(`${d.name}: ${String(cmd.cmd)} failed: ${JSON.stringify(result.error)}`)
  return result
}

async function report(d: Device): Promise<Record<string, unknown>> {
  return (await command(d, { cmd: 'report' })).value as Record<string, unknown>
}
