/** Discovery nodes in sandbox hosts, for the sandbox suites and the discovery benchmark. */
import { JsonProcess, sandboxAvailable, type JsonEvent, type SandboxLan } from '@meshkit/testing'
import { resolve } from 'node:path'

export const DISCOVERY_FIXTURE = resolve(import.meta.dirname, '../../packages/testing/dist/fixtures/discovery-node.js')
export const GROUP = 'd15c0000beef'
export const sandbox = sandboxAvailable()
if (!sandbox.ok) process.stderr.write(`sandbox LAN suites skipped: ${sandbox.reason}\n`)

export interface Node {
  proc: JsonProcess
  id: string
  host: number
}

export interface PeerView {
  id: string
  port: number
  publicKey?: string
  addresses: Array<{ host: string; family: number; port: number; iface?: string }>
}

export const peerOf = (e: JsonEvent): PeerView => e.peer as PeerView

/** Spawns the discovery fixture in host `i` (as `user` when given, through setpriv); does not wait. */
export function spawnNode(lan: SandboxLan, i: number, options: Record<string, unknown> = {}, user?: string): JsonProcess {
  const args = [DISCOVERY_FIXTURE, JSON.stringify({ groupTag: GROUP, interfaces: ['eth0'], ...options })]
  if (user === undefined) return lan.host(i).spawnNode(args[0]!, args.slice(1))
  return new JsonProcess(lan.host(i).spawn('setpriv', [`--reuid=${user}`, `--regid=${user === 'nobody' ? 'nogroup' : user}`, '--clear-groups', process.execPath, ...args]))
}

/** Starts a discovery node in host `i`; resolves once it has started. */
export async function startNode(lan: SandboxLan, i: number, options: Record<string, unknown> = {}): Promise<Node> {
  const proc = spawnNode(lan, i, options)
  const started = await proc.waitFor('started', () => true, 20_000)
  return { proc, id: started.id as string, host: i }
}

/** Starts one node in each of hosts 0..n-1. */
export async function startNodes(lan: SandboxLan, options: Record<string, unknown> = {}): Promise<Node[]> {
  return Promise.all(lan.hosts.map((_, i) => startNode(lan, i, options)))
}

/** Resolves when `node` has found every id in `ids` (each at least once since event index `since`). */
export async function foundAll(node: Node, ids: string[], timeoutMs: number, since = 0): Promise<JsonEvent[]> {
  return Promise.all(ids.map((id) => node.proc.waitFor('found', (e) => peerOf(e).id === id, timeoutMs, since)))
}

/** Resolves when every node has found every other one. */
export async function allPairsFound(nodes: Node[], timeoutMs: number): Promise<void> {
  await Promise.all(nodes.map((n) => foundAll(n, nodes.filter((o) => o !== n).map((o) => o.id), timeoutMs)))
}

/** The `lost` event `observer` reports for `id` (after event index `since`). */
export async function lost(observer: Node, id: string, timeoutMs: number, since = 0): Promise<JsonEvent> {
  return observer.proc.waitFor('lost', (e) => e.id === id, timeoutMs, since)
}
