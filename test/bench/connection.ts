/**
 * `pnpm bench connection [--json]`: the connection layer against its own
 * transport and TCP, measured in the same run, across two processes on
 * loopback.
 *
 * handshake_p50_ms      fresh connection: dial until the hello is done (peer:connected)
 * rtt_p50_us/p99_us     32 B ping-pong over a meshkit channel
 * raw_rtt_p50_us        the same over a bare libp2p QUIC stream
 * tcp_rtt_p50_us        the same over a node:net socket
 * small_msgs_per_s      100 B one-way messages over a meshkit channel
 * raw_small_msgs_per_s  the same on a bare libp2p stream (writes may queue, drain respected)
 * bulk_MBps             64 KiB one-way messages over a meshkit channel
 * raw_bulk_MBps         the same on a bare libp2p stream
 * tcp_bulk_MBps         the same over TCP
 * rss_per_conn_kib      RSS growth of the accepting process per meshkit connection (40 connections)
 */
import '@meshkit/connection/polyfill'
import type { Stream } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { createConnectionLayer, type ConnectionLayer } from '@meshkit/connection'
import { deriveGroupKey, encodeCredential, ephemeralIdentity, issueCredential } from '@meshkit/identity'
import { spawnJsonProcess, type JsonProcess } from '@meshkit/testing'
import { connect, type Socket } from 'node:net'
import { resolve } from 'node:path'
import { rawNode } from './_raw-handlers.js'
import { parseArgs, printResult, progress, round, summary } from './_util.js'

const args = parseArgs()
const SECRET = 'meshkit-bench-secret-000000'
const TS = { nodeArgs: ['--import', 'tsx'] }
const RTT_SAMPLES = Number(args.rtt ?? 5000)
const SMALL_COUNT = Number(args.small ?? 1_000_000)
const BULK_BYTES = Number(args.bulk ?? 256) * 1024 * 1024
const SWARM = Number(args.swarm ?? 40)

const group = deriveGroupKey(SECRET)
const newLayer = async (): Promise<ConnectionLayer> => {
  const identity = ephemeralIdentity()
  const layer = createConnectionLayer({ identity, group, credential: encodeCredential(issueCredential(group, identity.id, identity.publicKey)), listen: ['127.0.0.1:0'] })
  await layer.start()
  return layer
}
const connected = async (layer: ConnectionLayer, peerId: string): Promise<void> =>
  new Promise((res) => {
    if (layer.connectedPeers().includes(peerId)) res()
    else layer.on('peer:connected', (e) => e.peerId === peerId && res())
  })

interface Far {
  id: string
  addresses: Array<{ host: string; port: number }>
  raw: string[]
  tcpEcho: number
  tcpSink: number
}

async function main(): Promise<void> {
  const farProc: JsonProcess = spawnJsonProcess(resolve(import.meta.dirname, '_connection-peer.ts'), [SECRET], TS)
  const far = (await farProc.waitFor('ready', () => true, 60_000)) as unknown as Far
  const result: Record<string, unknown> = { transport: 'quic', node: process.version }
  try {
    // --- handshake -----------------------------------------------------------
    // the dialing rule's case: the new device has the smaller id and dials at
    // once (the larger one would first give the other side its grace period)
    const handshakes: number[] = []
    for (let i = 0; i < 30; i++) {
      let layer = await newLayer()
      while (layer.id > far.id) {
        await layer.stop()
        layer = await newLayer()
      }
      const t0 = performance.now()
      layer.addPeer({ id: far.id, addresses: far.addresses })
      await connected(layer, far.id)
      handshakes.push(performance.now() - t0)
      await layer.stop()
    }
    result.handshake_p50_ms = round(summary(handshakes).p50, 2)
    progress(`handshake p50 ${result.handshake_p50_ms} ms`)

    const layer = await newLayer()
    layer.addPeer({ id: far.id, addresses: far.addresses })
    await connected(layer, far.id)
    const raw = await rawNode()
    const rawConn = await raw.dial(multiaddr(far.raw[0]!))

    // --- RTT -----------------------------------------------------------------
    let echoed: (() => void) | undefined
    layer.handle('echo', () => echoed?.())
    const ping = new Uint8Array(32)
    const meshRtt = await pingPong(RTT_SAMPLES, async () => {
      const done = new Promise<void>((r) => (echoed = r))
      await layer.send(far.id, 'echo', ping)
      await done
    })
    const rawEcho = await rawConn.newStream('/bench/echo/1')
    let rawEchoed: (() => void) | undefined
    rawEcho.addEventListener('message', () => rawEchoed?.())
    const rawRtt = await pingPong(RTT_SAMPLES, async () => {
      const done = new Promise<void>((r) => (rawEchoed = r))
      rawEcho.send(ping)
      await done
    })
    const tcp = await tcpSocket(far.tcpEcho)
    let tcpEchoed: (() => void) | undefined
    let got = 0
    tcp.on('data', (d: Buffer) => {
      got += d.length
      if (got >= 32) {
        got -= 32
        tcpEchoed?.()
      }
    })
    const tcpRtt = await pingPong(RTT_SAMPLES, async () => {
      const done = new Promise<void>((r) => (tcpEchoed = r))
      tcp.write(ping)
      await done
    })
    tcp.destroy()
    const mesh = summary(meshRtt)
    Object.assign(result, {
      rtt_p50_us: round(mesh.p50 * 1000),
      rtt_p99_us: round(mesh.p99 * 1000),
      raw_rtt_p50_us: round(summary(rawRtt).p50 * 1000),
      tcp_rtt_p50_us: round(summary(tcpRtt).p50 * 1000),
    })
    progress(`rtt p50 ${String(result.rtt_p50_us)} us, raw ${String(result.raw_rtt_p50_us)} us, tcp ${String(result.tcp_rtt_p50_us)} us`)

    // --- one-way throughput (interleaved: meshkit, raw, meshkit, raw, ...) --
    let doneResolve: (() => void) | undefined
    layer.handle('done', () => doneResolve?.())
    const meshOneWay = async (size: number, total: number): Promise<number> => {
      await layer.send(far.id, 'ctl', new TextEncoder().encode(String(total)))
      const payload = new Uint8Array(size)
      const done = new Promise<void>((r) => (doneResolve = r))
      const t0 = performance.now()
      let pending: Promise<void> = Promise.resolve()
      for (let sent = 0, i = 0; sent < total; sent += size, i++) {
        pending = layer.send(far.id, 'sink', payload)
        if ((i & 255) === 0) await pending // follow the receiver's credit
      }
      await pending
      await done
      return performance.now() - t0
    }
    const rawOneWay = async (size: number, total: number): Promise<number> => {
      const stream = await rawConn.newStream('/bench/sink/1')
      const done = new Promise<void>((r) => stream.addEventListener('message', () => r(), { once: true }))
      const header = new Uint8Array(8)
      new DataView(header.buffer).setBigUint64(0, BigInt(total))
      const payload = new Uint8Array(size)
      const t0 = performance.now()
      stream.send(header)
      for (let sent = 0; sent < total; sent += size) {
        // writes may queue (the transport coalesces them); wait for 'drain'
        // once 1 MiB is buffered, so memory stays bounded like meshkit's window
        if (!stream.send(payload) && stream.writeBufferLength > 1024 * 1024) await drained(stream)
      }
      await done
      const ms = performance.now() - t0
      await stream.close()
      return ms
    }
    const smallMesh: number[] = []
    const smallRaw: number[] = []
    const bulkMesh: number[] = []
    const bulkRaw: number[] = []
    const bulkTcp: number[] = []
    for (let round_ = 0; round_ < Number(args.rounds ?? 5); round_++) {
      smallMesh.push((SMALL_COUNT / (await meshOneWay(100, SMALL_COUNT * 100))) * 1000)
      smallRaw.push((SMALL_COUNT / (await rawOneWay(100, SMALL_COUNT * 100))) * 1000)
      bulkMesh.push(BULK_BYTES / 1e6 / ((await meshOneWay(65536, BULK_BYTES)) / 1000))
      bulkRaw.push(BULK_BYTES / 1e6 / ((await rawOneWay(65536, BULK_BYTES)) / 1000))
      bulkTcp.push(BULK_BYTES / 1e6 / ((await tcpOneWay(far.tcpSink, 65536, BULK_BYTES)) / 1000))
      progress(`round ${round_}: small ${Math.round(smallMesh.at(-1)!)} vs raw ${Math.round(smallRaw.at(-1)!)} msg/s; bulk ${round(bulkMesh.at(-1)!)} vs raw ${round(bulkRaw.at(-1)!)} vs tcp ${round(bulkTcp.at(-1)!)} MB/s`)
    }
    const median = (xs: number[]): number => summary(xs).p50
    Object.assign(result, {
      small_msgs_per_s: Math.round(median(smallMesh)),
      raw_small_msgs_per_s: Math.round(median(smallRaw)),
      bulk_MBps: round(median(bulkMesh)),
      raw_bulk_MBps: round(median(bulkRaw)),
      tcp_bulk_MBps: round(median(bulkTcp)),
    })
    await layer.stop()
    await raw.stop()

    // --- memory per connection: a fresh accepting process -----------------------
    const host = spawnJsonProcess(resolve(import.meta.dirname, '_connection-peer.ts'), [SECRET], { nodeArgs: ['--expose-gc', ...TS.nodeArgs] })
    const hostInfo = (await host.waitFor('ready', () => true, 60_000)) as unknown as Far
    const before = (await host.request({ cmd: 'rss' }, 'rss', 10_000)).rss as number
    const swarm = spawnJsonProcess(resolve(import.meta.dirname, '_connection-swarm.ts'), [SECRET, hostInfo.id, `${hostInfo.addresses[0]!.host}:${hostInfo.addresses[0]!.port}`, String(SWARM)], TS)
    await swarm.waitFor('connected', () => true, 120_000)
    let after = await host.request({ cmd: 'rss' }, 'rss', 10_000)
    for (let i = 0; i < 100 && (after.peers as number) < SWARM; i++) after = await host.request({ cmd: 'rss' }, 'rss', 10_000)
    result.rss_per_conn_kib = round(((after.rss as number) - before) / 1024 / (after.peers as number))
    result.rss_connections = after.peers
    swarm.send({ cmd: 'exit' })
    host.send({ cmd: 'exit' })
    await Promise.all([swarm.exited, host.exited])
    result.rtt_ratio = round((result.rtt_p50_us as number) / (result.raw_rtt_p50_us as number), 2)
    result.small_ratio = round((result.small_msgs_per_s as number) / (result.raw_small_msgs_per_s as number), 2)
  } finally {
    farProc.send({ cmd: 'exit' })
    await Promise.race([farProc.exited, new Promise((r) => setTimeout(r, 2000))])
    await farProc.kill()
  }
  printResult(result, args.json === true)
}

async function pingPong(n: number, once: () => Promise<void>): Promise<number[]> {
  for (let i = 0; i < 200; i++) await once() // warm up
  const samples: number[] = []
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    await once()
    samples.push(performance.now() - t0)
  }
  return samples
}

async function drained(stream: Stream): Promise<void> {
  await new Promise<void>((r) => stream.addEventListener('drain', () => r(), { once: true }))
}

async function tcpSocket(port: number): Promise<Socket> {
  return new Promise((res, rej) => {
    const s = connect(port, '127.0.0.1', () => {
      s.setNoDelay(true)
      res(s)
    })
    s.once('error', rej)
  })
}

async function tcpOneWay(port: number, size: number, total: number): Promise<number> {
  const s = await tcpSocket(port)
  const done = new Promise<void>((r) => s.once('data', () => r()))
  const header = Buffer.alloc(8)
  header.writeBigUInt64BE(BigInt(total))
  const payload = Buffer.alloc(size)
  const t0 = performance.now()
  s.write(header)
  for (let sent = 0; sent < total; sent += size) {
    if (!s.write(payload)) await new Promise((r) => s.once('drain', r))
  }
  await done
  const ms = performance.now() - t0
  s.destroy()
  return ms
}

await main()
