/**
 * Teardown that also happens when a test run ends badly: live sandboxes are
 * destroyed on process exit and on SIGINT / SIGTERM / SIGHUP, and namespaces
 * left behind by a run that was SIGKILLed (nothing can run then) are swept by
 * the next run. Namespace names carry the owner's PID (`mk-<pid>-<hex>-h0`),
 * so a sweep only touches sandboxes whose owner is gone.
 */
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { quiet } from './shell.js'

export interface Destroyable {
  destroySync: () => void
}

const live = new Set<Destroyable>()
let hooked = false

/** A fresh namespace prefix naming this process as the owner. */
export function newPrefix(): string {
  return `mk-${process.pid}-${randomBytes(2).toString('hex')}`
}

const OWNED = /^mk-(\d+)-[0-9a-f]{4}-(br|h\d+)$/

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Deletes sandbox namespaces whose owning process no longer exists, after
 * killing (by PID) whatever still runs inside them: the leftovers of a run
 * that was SIGKILLed. Returns the namespaces it removed.
 */
export function sweepStaleSandboxes(): string[] {
  const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
  if (list.status !== 0) return []
  const stale: string[] = []
  for (const line of list.stdout.split('\n')) {
    const name = line.split(' ')[0] ?? ''
    const m = OWNED.exec(name)
    if (m === null || alive(Number(m[1]))) continue
    stale.push(name)
  }
  for (const ns of stale) {
    const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout ?? ''
    for (const pid of pids.split('\n').map(Number).filter((p) => Number.isInteger(p) && p > 1)) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // gone already
      }
    }
    quiet('ip', ['netns', 'del', ns])
  }
  return stale
}

/** Destroys `sandbox` when this process exits or is interrupted, unless it was destroyed before. */
export function register(sandbox: Destroyable): void {
  live.add(sandbox)
  if (hooked) return
  hooked = true
  process.once('exit', destroyAll)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      destroyAll()
      // if nobody else handles the signal, die of it as we would have without this hook
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
    }
    process.once(signal, onSignal)
  }
}

export function unregister(sandbox: Destroyable): void {
  live.delete(sandbox)
}

function destroyAll(): void {
  for (const s of [...live]) s.destroySync()
}
