/**
 * `pnpm bench broadcast --nodes N [--json]`: 100-byte broadcasts from one
 * device to N-1 peers (each its own process, loopback) through the public
 * mesh API, and in the same run the same fan-out written directly on bare
 * libp2p QUIC streams.
 *
 * bcast_per_s / raw_bcast_per_s   broadcasts per second until every peer has all of them; raw:
 *                                 varint length-prefixed on bare streams, split into messages at the receiver
 * raw_bytepipe_bcast_per_s        the same bytes as an unframed pipe the receiver only counts (no messages)
 * cpu_us_per_bcast / raw_...      CPU time of all processes (sender and receivers) per broadcast
 * lat_p50_us / lat_p99_us         one broadcast until every peer has answered it (fan-out round trip)
 * raw_lat_p50_us                  the same on bare streams
 */
import '@meshkit/connection/polyfill'
import type { Stream } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { silentLogger } from '@meshkit/log'
import { createMesh, generateGroupSecret } from '@meshkit/mesh'
import { spawnJsonProcess } from '@meshkit/testing'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { rawNode } from './_raw-handlers.js'
import { cpuTimeMs, parseArgs, printResult, progress, round, summary } from './_util.js'

const args = parseArgs()
const N = Number(args.nodes ?? 10)
const COUNT = Number(args.count ?? 50_000)
const LAT_SAMPLES = Number(args.samples ?? 2_000)
const ROUNDS = Number(args.rounds ?? 3)
const secret = generateGroupSecret()

interface Peer {
  id: string
  address: { host: string; port: number }
  raw: string[]
}

const procs = Array.from({ length: N - 1 }, () => spawnJsonProcess(resolve(import.meta.dirname, '_broadcast-peer.ts'), [secret], { nodeArgs: ['--import', 'tsx', ...(process.env.BENCH_PEER_NODE_ARGS?.split(' ').filter(Boolean) ?? [])] }))
try {
  const peers = (await Promise.all(procs.map((p) => p.waitFor('ready', () => true, 60_000)))) as unknown as Peer[]
  const mesh = await createMesh({ group: { secret }, storage: 'memory', discovery: 'none', loopbackOnly: true, election: { manualOnly: true }, logger: silentLogger() })
  for (const p of peers) mesh.addPeer({ host: p.address.host, port: p.address.port, id: p.id })
  await mesh.ready({ peers: N - 1, timeoutMs: 30_000 })
  const raw = await rawNode()
  const rawConns = await Promise.all(peers.map((p) => raw.dial(multiaddr(p.raw[0]!))))
  progress(`${N - 1} peers ready`)

  // --- fan-out round trip ---------------------------------------------------
  let pongs = 0
  let allPonged: (() => void) | undefined
  mesh.messages$('pong').subscribe(() => {
    if (++pongs === N - 1) allPonged?.()
  })
  const payload = new Uint8Array(100)
  const meshRoundTrip = async (): Promise<number> => {
    pongs = 0
    const done = new Promise<void>((r) => (allPonged = r))
    const t0 = performance.now()
    await mesh.broadcast('ping', payload)
    await done
    return performance.now() - t0
  }
  const echoes = await Promise.all(rawConns.map((c) => c.newStream('/bench/echo/1')))
  // echoes may arrive in pieces: count bytes per stream, not events
  const echoed = echoes.map(() => 0)
  let rawAll: (() => void) | undefined
  echoes.forEach((s, i) =>
    s.addEventListener('message', (e) => {
      echoed[i]! += e.data.byteLength
      if (echoed.every((b) => b >= payload.length)) rawAll?.()
    }),
  )
  const rawRoundTrip = async (): Promise<number> => {
    echoed.fill(0)
    const done = new Promise<void>((r) => (rawAll = r))
    const t0 = performance.now()
    for (const s of echoes) s.send(payload)
    await done
    return performance.now() - t0
  }
  for (let i = 0; i < 200; i++) {
    await meshRoundTrip()
    await rawRoundTrip()
  }
  const meshLat: number[] = []
  const rawLat: number[] = []
  for (let i = 0; i < LAT_SAMPLES; i++) {
    meshLat.push(await meshRoundTrip())
    rawLat.push(await rawRoundTrip())
  }

  // --- throughput (interleaved rounds) ------------------------------------------
  let finished = 0
  let allFinished: (() => void) | undefined
  let roundNo = 0
  mesh.messages$('done').subscribe((m) => m.payload === roundNo && ++finished === N - 1 && allFinished?.())
  const meshRun = async (): Promise<number> => {
    roundNo++
    const data = new Uint8Array(100)
    data[0] = roundNo
    finished = 0
    const done = new Promise<void>((r) => (allFinished = r))
    await Promise.all(peers.map((p) => mesh.send(p.id, 'ctl', { round: roundNo, count: COUNT })))
    const t0 = performance.now()
    let last: Promise<unknown> = Promise.resolve()
    for (let i = 0; i < COUNT; i++) {
      last = mesh.broadcast('bench', data)
      if ((i & 63) === 0) await last // follow the slowest peer's window
    }
    await last
    await done
    return (COUNT / (performance.now() - t0)) * 1000
  }
  /**
   * The same fan-out on bare streams. `framed`: each message gets a varint
   * length prefix and the receiver splits the stream into messages (what an
   * application must do at least); otherwise a byte pipe the receiver only
   * counts (no messages at all: the floor).
   */
  const rawRun = async (framed: boolean): Promise<number> => {
    const streams: Stream[] = await Promise.all(rawConns.map((c) => c.newStream(framed ? '/bench/lp-sink/1' : '/bench/sink/1')))
    const done = Promise.all(streams.map((s) => new Promise<void>((r) => s.addEventListener('message', () => r(), { once: true }))))
    const header = new Uint8Array(8)
    new DataView(header.buffer).setBigUint64(0, BigInt(framed ? COUNT : COUNT * 100))
    const t0 = performance.now()
    for (const s of streams) s.send(header)
    for (let i = 0; i < COUNT; i++) {
      let message = payload
      if (framed) {
        message = new Uint8Array(1 + payload.length)
        message[0] = payload.length
        message.set(payload, 1)
      }
      for (const s of streams) {
        if (!s.send(message) && s.writeBufferLength > 1024 * 1024) await new Promise((r) => s.addEventListener('drain', r, { once: true }))
      }
    }
    await done
    const rate = (COUNT / (performance.now() - t0)) * 1000
    await Promise.all(streams.map((s) => s.close()))
    return rate
  }
  // CPU time of every process of the run (sender and receivers), in ms: on a
  // shared 2-core machine the receivers compete with the sender for the cores.
  const pids = [process.pid, ...procs.map((p) => p.child.pid!)]
  const cpuMs = (only?: number): number => cpuTimeMs(only !== undefined ? [only] : pids)
  // UDP datagrams received on this machine (all processes): how the bytes were packed
  const datagrams = (): number => {
    const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'))
    const [names, values] = lines.map((l) => l.split(/\s+/))
    return Number(values![names!.indexOf('InDatagrams')])
  }
  const udp = { mesh: 0, raw: 0 }
  const cpu = { mesh: 0, raw: 0, meshSender: 0, rawSender: 0 }
  const timed = async (key: 'mesh' | 'raw', run: () => Promise<number>): Promise<number> => {
    const before = cpuMs()
    const self = cpuMs(process.pid)
    const d0 = datagrams()
    const rate = await run()
    udp[key] += datagrams() - d0
    cpu[key] += cpuMs() - before
    cpu[key === 'mesh' ? 'meshSender' : 'rawSender'] += cpuMs(process.pid) - self
    return rate
  }
  const meshRates: number[] = []
  const rawRates: number[] = []
  const byteRates: number[] = []
  // one round each to warm up the JIT (not counted)
  // --only mesh|raw: one side only (for profiling one of them)
  const only = typeof args.only === 'string' ? args.only : undefined
  if (only !== 'raw') await meshRun()
  if (only !== 'mesh') await rawRun(true)
  if (only === undefined) await rawRun(false)
  for (let r = 0; r < ROUNDS; r++) {
    meshRates.push(only === 'raw' ? Number.NaN : await timed('mesh', meshRun))
    rawRates.push(only === 'mesh' ? Number.NaN : await timed('raw', () => rawRun(true)))
    byteRates.push(only !== undefined ? Number.NaN : await rawRun(false))
    progress(`round ${r}: mesh ${Math.round(meshRates.at(-1)!)} bcast/s, raw (length-prefixed) ${Math.round(rawRates.at(-1)!)}, raw byte pipe ${Math.round(byteRates.at(-1)!)}`)
  }
  const ml = summary(meshLat)
  const result = {
    nodes: N,
    payload_bytes: 100,
    bcast_per_s: Math.round(summary(meshRates).p50),
    raw_bcast_per_s: Math.round(summary(rawRates).p50),
    raw_bytepipe_bcast_per_s: Math.round(summary(byteRates).p50),
    lat_p50_us: round(ml.p50 * 1000),
    lat_p99_us: round(ml.p99 * 1000),
    raw_lat_p50_us: round(summary(rawLat).p50 * 1000),
    cpu_us_per_bcast: round((cpu.mesh * 1000) / (COUNT * ROUNDS)),
    raw_cpu_us_per_bcast: round((cpu.raw * 1000) / (COUNT * ROUNDS)),
    udp_datagrams_per_bcast: round(udp.mesh / (COUNT * ROUNDS), 3),
    raw_udp_datagrams_per_bcast: round(udp.raw / (COUNT * ROUNDS), 3),
    recv_cpu_us_per_msg: round(((cpu.mesh - cpu.meshSender) * 1000) / (COUNT * ROUNDS * (N - 1)), 2),
    raw_recv_cpu_us_per_msg: round(((cpu.raw - cpu.rawSender) * 1000) / (COUNT * ROUNDS * (N - 1)), 2),
    sender_cpu_us_per_bcast: round((cpu.meshSender * 1000) / (COUNT * ROUNDS)),
    raw_sender_cpu_us_per_bcast: round((cpu.rawSender * 1000) / (COUNT * ROUNDS)),
  }
  await mesh.stop()
  await raw.stop()
  printResult({ ...result, bcast_ratio: round(result.bcast_per_s / result.raw_bcast_per_s, 2), lat_ratio: round(result.lat_p50_us / result.raw_lat_p50_us, 2) }, args.json === true)
} finally {
  for (const p of procs) p.send({ cmd: 'exit' })
  await Promise.all(procs.map((p) => Promise.race([p.exited, new Promise((r) => setTimeout(r, 3000))])))
  await Promise.all(procs.map((p) => p.kill()))
}
