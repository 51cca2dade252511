/**
 * Awaiting what mesh-node devices (src/fixtures/mesh-node.ts) report: ready
 * peers and an agreed leader. Past events count, so nothing that already
 * happened is missed; every wait has a deadline.
 */
import { fileURLToPath } from 'node:url'
import type { JsonEvent, JsonProcess } from './json-process.js'

/**
 * The mesh-node fixture as built JavaScript, to spawn with `spawnJsonProcess`
 * or `SandboxHost.spawnNode` (this module may itself run from its TypeScript
 * source in tests: the path always points into dist/).
 */
export const MESH_NODE_FIXTURE = fileURLToPath(new URL('./fixtures/mesh-node.js', import.meta.url)).replace(/[\\/]src[\\/]fixtures[\\/]mesh-node\.js$/, '/dist/fixtures/mesh-node.js')

/** Resolves with the `peer` event at which `proc` reported `count` ready peers. */
export async function waitForReadyPeers(proc: JsonProcess, count: number, timeoutMs: number): Promise<JsonEvent> {
  const ready = new Set<string>()
  return proc.waitFor(
    'peer',
    (e) => {
      if (e.state === 'ready') ready.add(e.id as string)
      else ready.delete(e.id as string)
      return ready.size >= count
    },
    timeoutMs,
    0,
  )
}

/** The latest state each device reported for each peer (replayed from its `peer` events). */
export function peerStates(proc: JsonProcess): Map<string, string> {
  const states = new Map<string, string>()
  for (const e of proc.events) if (e.ev === 'peer') states.set(e.id as string, e.state as string)
  return states
}

/** The last leader report of a device (its `id` is undefined while it knows no leader). */
export function lastLeader(proc: JsonProcess): JsonEvent | undefined {
  return proc.events.filter((e) => e.ev === 'leader').at(-1)
}

/**
 * Re-checks `check` each time any of `procs` reports an `event`, until it
 * returns a value (resolved) or `timeoutMs` runs out (rejected with `describe()`).
 */
export async function waitForEvents<T>(procs: JsonProcess[], event: string, check: () => T | undefined, timeoutMs: number, describe: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`${describe()} within ${timeoutMs} ms`)
    await Promise.race(procs.map((p) => p.waitFor(event, () => true, Math.max(1, deadline - Date.now()), p.events.length).catch(() => undefined)))
  }
}

/** Resolves when every device reports the same leader in the same term (and not `notId`, or none of `notId`). */
export async function waitForAgreedLeader(procs: JsonProcess[], timeoutMs: number, notId?: string | ReadonlySet<string>): Promise<{ id: string; term: number }> {
  const excluded = (id: unknown): boolean => (typeof notId === 'string' ? id === notId : notId?.has(id as string) === true)
  return waitForEvents(
    procs,
    'leader',
    () => {
      const views = procs.map(lastLeader)
      const first = views[0]
      if (first?.id === undefined || excluded(first.id) || !views.every((v) => v?.id === first.id && v?.term === first.term)) return undefined
      return { id: first.id as string, term: first.term as number }
    },
    timeoutMs,
    () => `no agreed leader: ${procs.map(lastLeader).map((v) => `${String(v?.id).slice(0, 8)}@${String(v?.term)}`).join(', ')}`,
  )
}
