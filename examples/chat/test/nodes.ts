/**
 * Real chat processes for the integration tests: the built `dist/main.js` in
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

export function spawnChat(name: string, mesh: { secret: string; mdnsPort: number }): JsonProcess {
  return spawnJsonProcess(MAIN, ['--json', '--name', name, '--secret', mesh.secret, '--mdns-port', String(mesh.mdnsPort)], { env: { ...process.env, DEBUG: '' } })
}

/** Types a line, as a user would. */
export function type(node: JsonProcess, line: string): void {
  node.child.stdin?.write(`${line}\n`)
}

export const count = (node: JsonProcess, ev: string, match: (e: JsonEvent) => boolean): number => node.events.filter((e) => e.ev === ev && match(e)).length
