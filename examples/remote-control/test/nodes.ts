/**
 * Real remote-control processes for the integration tests: the built `dist/main.js` in
 * `--json` mode, discovery on loopback with a port and a group of their own
 * (so parallel suites cannot see each other), typed lines on stdin.
 */
import { spawnJsonProcess, type JsonEvent, type JsonProcess } from '@meshkit/testing'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url))

export function assertBuilt(): void {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first (pnpm exec tsc -b)`)
}

/** A fresh mesh: its own group secret and mDNS port. */
export function freshMesh(): { secret: string; mdnsPort: number } {
  return { secret: randomBytes(24).toString('base64url'), mdnsPort: 20_000 + Math.floor(Math.random() * 30_000) }
}

export function spawnNode(mesh: { secret: string; mdnsPort: number }, extra: string[] = []): JsonProcess {
  return spawnJsonProcess(MAIN, ['--json', '--secret', mesh.secret, '--mdns-port', String(mesh.mdnsPort), ...extra], { env: { ...process.env, DEBUG: '' } })
}

/** Types a line, as a user would. */
export function type(node: JsonProcess, line: string): void {
  node.child.stdin?.write(`${line}\n`)
}

export const count = (node: JsonProcess, ev: string, match: (e: JsonEvent) => boolean): number => node.events.filter((e) => e.ev === ev && match(e)).length

/**
 * Resolves once `check` holds, re-checked on every event of every node (no
 * polling, no sleeps); rejects after `timeoutMs` with `what`, or when a node exits.
 */
export async function until<T>(nodes: JsonProcess[], what: string, check: () => T | undefined, timeoutMs: number): Promise<T> {
  const first = check()
  if (first !== undefined) return first
  return new Promise<T>((resolve, reject) => {
    const offs: Array<() => void> = []
    let settled = false
    const done = (): void => {
      settled = true
      clearTimeout(timer)
      for (const off of offs) off()
    }
    const timer = setTimeout(() => {
      done()
      reject(new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`))
    }, timeoutMs)
    for (const n of nodes) {
      offs.push(
        n.onEvent(() => {
          const value = check()
          if (settled || value === undefined) return
          done()
          resolve(value)
        }),
      )
      n.exited.then(
        ({ code, signal }) => {
          if (settled) return
          done()
          reject(new Error(`process ${n.pid ?? '?'} exited (${signal ?? code}) while waiting for: ${what}\n${n.stderr}`))
        },
        () => {},
      )
    }
  })
}

/** The leader as a node last reported it. */
export function leaderOf(node: JsonProcess): { id?: string; term: number; role: string } | undefined {
  const e = node.events.findLast((x) => x.ev === 'leader')
  return e === undefined ? undefined : { ...(typeof e.id === 'string' ? { id: e.id } : {}), term: Number(e.term), role: String(e.role) }
}

/** The leader every node in `nodes` agrees on (each reports the same id, the leader itself as `leader`), or undefined. */
export function agreedLeader(nodes: JsonProcess[], ids: Map<JsonProcess, string>): JsonProcess | undefined {
  const views = nodes.map(leaderOf)
  const id = views[0]?.id
  if (id === undefined || views.some((v) => v?.id !== id)) return undefined
  const leader = nodes.find((n) => ids.get(n) === id)
  if (leader === undefined || leaderOf(leader)?.role !== 'leader') return undefined
  return leader
}
