/**
 * Local multi-process meshes of connection-layer nodes (the fixture in
 * @meshkit/testing/dist/fixtures/connection-node.js), for the connection suites
 * and the dedup benchmark.
 */
import { spawnJsonProcess, type JsonEvent, type JsonProcess } from '@meshkit/testing'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

export const FIXTURE = resolve(import.meta.dirname, '../../packages/testing/dist/fixtures/connection-node.js')
export const SECRET = 'meshkit-connection-suite-secret'

export interface NodeInfo {
  id: string
  publicKey: string
  port: number
}

export interface PeerReport {
  id: string
  state: string
  connection?: { id: string; key: string; direction: string; dialerId: string }
}

export interface Report {
  id: string
  peers: PeerReport[]
  diagnostics: { transportConnections: number; sessions: number; pendingHellos: number; activePeers: number }
  received: Record<string, number>
  memory: NodeJS.MemoryUsage
}

export class ProcessMesh {
  readonly procs: JsonProcess[] = []
  readonly storeDirs: string[] = []
  info: NodeInfo[] = []
  private root = mkdtempSync(join(tmpdir(), 'meshkit-conn-'))

  constructor(
    readonly size: number,
    readonly options: Record<string, unknown> = {},
    readonly persistent = false,
  ) {}

  async spawn(): Promise<void> {
    for (let i = 0; i < this.size; i++) this.procs.push(this.spawnOne(i))
    await Promise.all(this.procs.map((p) => p.waitFor('ready', () => true, 30_000)))
  }

  spawnOne(i: number): JsonProcess {
    const storeDir = join(this.root, `node-${i}`)
    this.storeDirs[i] = storeDir
    return spawnJsonProcess(FIXTURE, [JSON.stringify({ secret: SECRET, options: this.options, ...(this.persistent ? { storeDir } : {}) })])
  }

  /** Starts every node's layer on the given ports (0 = any) and collects ids. */
  async start(ports: number[] = Array.from({ length: this.size }, () => 0)): Promise<NodeInfo[]> {
    const started = this.procs.map(async (p, i) => {
      const since = p.events.length
      const answer = await Promise.race([p.waitFor('started', () => true, 20_000, since), p.waitFor('error', (e) => e.cmd === 'start', 20_000, since)])
      if (answer.ev === 'error') throw new Error(`node ${i} could not start: ${String(answer.message)}`)
      return answer
    })
    for (const [i, p] of this.procs.entries()) p.send({ cmd: 'start', listen: [`127.0.0.1:${ports[i]}`] })
    this.info = (await Promise.all(started)).map((e) => ({ id: e.id as string, publicKey: e.publicKey as string, port: e.port as number }))
    return this.info
  }

  /** Tells every node about every other one at the same instant. */
  introduce(withIds: boolean): void {
    for (let i = 0; i < this.size; i++) {
      const peers = this.info
        .filter((_, j) => j !== i)
        .map((n) => (withIds ? { id: n.id, publicKey: n.publicKey, addresses: [`127.0.0.1:${n.port}`] } : { addresses: [`127.0.0.1:${n.port}`] }))
      this.procs[i]!.send({ cmd: 'addPeer', peers: withIds ? peers : [], anonymous: withIds ? [] : peers })
    }
  }

  async report(i: number): Promise<Report> {
    return (await this.procs[i]!.request({ cmd: 'report' }, 'report', 10_000)) as unknown as Report
  }

  async reports(): Promise<Report[]> {
    return Promise.all(this.procs.map((_, i) => this.report(i)))
  }

  /** Polls reports until `done` holds for all of them, or fails with the last reports after `timeoutMs`. */
  async until(done: (r: Report, i: number) => boolean, timeoutMs: number, what: string): Promise<Report[]> {
    const deadline = Date.now() + timeoutMs
    let last: Report[] = []
    while (Date.now() < deadline) {
      last = await this.reports()
      if (last.every(done)) return last
      await new Promise((r) => setTimeout(r, 25)) // poll interval between report round trips
    }
    throw new Error(`${what} not reached within ${timeoutMs} ms: ${JSON.stringify(last.map((r) => r.diagnostics))}`)
  }

  async stopLayers(): Promise<void> {
    await Promise.all(this.procs.filter((p) => p.alive).map((p) => p.request({ cmd: 'stop' }, 'stopped', 15_000)))
  }

  async destroy(): Promise<void> {
    await Promise.all(this.procs.map((p) => p.kill('SIGKILL')))
    rmSync(this.root, { recursive: true, force: true })
  }

  events(i: number, ev: string, since = 0): JsonEvent[] {
    return this.procs[i]!.events.slice(since).filter((e) => e.ev === ev)
  }
}

/** Free-looking UDP ports: a random block in the dynamic range, different per call. */
export function portBlock(n: number): number[] {
  const base = 20_000 + Math.floor(Math.random() * 40_000)
  return Array.from({ length: n }, (_, i) => base + i)
}

/** Checks a formed mesh: exactly one shared connection per pair. Returns the distinct connection keys. */
export function connectionKeys(reports: Report[]): { keys: Map<string, string[]>; problems: string[] } {
  const keys = new Map<string, string[]>()
  const problems: string[] = []
  for (const r of reports) {
    const connected = r.peers.filter((p) => p.state === 'connected')
    if (connected.length !== reports.length - 1) problems.push(`${r.id} has ${connected.length} connected peers`)
    if (r.diagnostics.transportConnections !== reports.length - 1) problems.push(`${r.id} has ${r.diagnostics.transportConnections} transport connections`)
    for (const p of connected) {
      const key = p.connection?.key ?? 'none'
      keys.set(key, [...(keys.get(key) ?? []), `${r.id}->${p.id}`])
    }
  }
  for (const [key, ends] of keys) if (ends.length !== 2) problems.push(`connection ${key} seen from ${ends.length} ends: ${ends.join(', ')}`)
  return { keys, problems }
}
