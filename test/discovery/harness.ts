/** Discovery nodes in sandbox hosts, for the sandbox suites and the discovery benchmark. */
import { sandboxAvailable, type JsonEvent, type JsonProcess, type SandboxLan } from '@meshkit/testing'
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

/** Starts a discovery node in host `i`; resolves once it has started. */
export async function startNode(lan: SandboxLan, i: number, options: Record<string, unknown> = {}): Promise<Node> {
  const proc = lan.host(i).spawnNode(DISCOVERY_FIXTURE, [JSON.stringify({ groupTag: GROUP, interfaces: ['eth0'], ...options })])
  const started = await proc.waitFor('started', () => true, 20_000)
  return { proc, id: started.id as string, host: i }
}

/** Resolves when `node` has found every id in `ids` (each at least once since `since`). */
export async function foundAll(node: Node, ids: string[], timeoutMs: number, since = 0): Promise<JsonEvent[]> {
  return Promise.all(ids.map((id) => node.proc.waitFor('found', (e) => (e.peer as { id: string }).id === id, timeoutMs, since)))
}
