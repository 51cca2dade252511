/**
 * Drives a child process that speaks JSON lines: commands on its stdin, events
 * on its stdout (one JSON object per line, with an `ev` field). Tests await
 * events with a deadline instead of sleeping.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { createInterface } from 'node:readline'

export interface JsonEvent {
  ev: string
  [key: string]: unknown
}

export class ProcessExitedError extends Error {
  override readonly name = 'ProcessExitedError'
  constructor(
    readonly pid: number | undefined,
    readonly code: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly stderr: string,
  ) {
    super(`process ${pid ?? '?'} exited (${signal ?? code}) while a test waited for it${stderr !== '' ? `; stderr:\n${stderr.slice(-2000)}` : ''}`)
  }
}

export class EventTimeoutError extends Error {
  override readonly name = 'EventTimeoutError'
  constructor(
    readonly pid: number | undefined,
    what: string,
    readonly timeoutMs: number,
  ) {
    super(`process ${pid ?? '?'}: no ${what} within ${timeoutMs} ms`)
  }
}

type Waiter = { match: (e: JsonEvent) => boolean; resolve: (e: JsonEvent) => void; reject: (err: Error) => void; timer: ReturnType<typeof setTimeout> }

export class JsonProcess {
  /** Every event received so far, in order. */
  readonly events: JsonEvent[] = []
  private waiters: Waiter[] = []
  private stderrTail = ''
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  private listeners: Array<(e: JsonEvent) => void> = []

  constructor(readonly child: ChildProcess) {
    if (child.stdout === null) throw new Error('JsonProcess needs the child stdout piped')
    createInterface({ input: child.stdout }).on('line', (line) => {
      let event: JsonEvent
      try {
        event = JSON.parse(line) as JsonEvent
      } catch {
        return // not ours (a stray log line)
      }
      if (typeof event?.ev !== 'string') return
      this.events.push(event)
      for (const l of this.listeners) l(event)
      for (const w of [...this.waiters]) {
        if (w.match(event)) {
          this.waiters = this.waiters.filter((x) => x !== w)
          clearTimeout(w.timer)
          w.resolve(event)
        }
      }
    })
    child.stderr?.on('data', (d: Buffer) => {
      this.stderrTail = (this.stderrTail + d.toString()).slice(-8000)
    })
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal }
        for (const w of this.waiters.splice(0)) {
          clearTimeout(w.timer)
          w.reject(new ProcessExitedError(child.pid, code, signal, this.stderrTail))
        }
        resolve({ code, signal })
      })
    })
  }

  get pid(): number | undefined {
    return this.child.pid
  }

  get stderr(): string {
    return this.stderrTail
  }

  get alive(): boolean {
    return this.exitInfo === undefined
  }

  /** Sends one command line. */
  send(command: Record<string, unknown>): void {
    this.child.stdin?.write(`${JSON.stringify(command)}\n`)
  }

  /** Calls `fn` for every future event. */
  onEvent(fn: (e: JsonEvent) => void): () => void {
    this.listeners.push(fn)
    return () => {
      this.listeners = this.listeners.filter((l) => l !== fn)
    }
  }

  /**
   * The first event (already received after `since`, or future) matching, or
   * rejects after `timeoutMs` / when the process exits.
   */
  async waitFor(ev: string, match: (e: JsonEvent) => boolean = () => true, timeoutMs = 10_000, since = 0): Promise<JsonEvent> {
    const matches = (e: JsonEvent): boolean => e.ev === ev && match(e)
    const seen = this.events.slice(since).find(matches)
    if (seen !== undefined) return seen
    if (this.exitInfo !== undefined) throw new ProcessExitedError(this.pid, this.exitInfo.code, this.exitInfo.signal, this.stderrTail)
    return new Promise<JsonEvent>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.timer !== timer)
        reject(new EventTimeoutError(this.pid, `"${ev}" event matching the condition`, timeoutMs))
      }, timeoutMs)
      this.waiters.push({ match: matches, resolve, reject, timer })
    })
  }

  /** Sends a command and waits for the event it answers with. */
  async request(command: Record<string, unknown>, answer: string, timeoutMs = 10_000): Promise<JsonEvent> {
    const since = this.events.length
    this.send(command)
    return this.waitFor(answer, () => true, timeoutMs, since)
  }

  /** Kills the process (default SIGKILL) and waits for it to exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.exitInfo !== undefined) return
    this.child.kill(signal)
    await this.exited
  }
}

/** Spawns `node [nodeArgs] <script> ...args` with piped stdio and wraps it (`nodeArgs: ['--import', 'tsx']` runs TypeScript). */
export function spawnJsonProcess(script: string, args: string[] = [], options: SpawnOptions & { nodeArgs?: string[] } = {}): JsonProcess {
  const { nodeArgs = [], ...spawnOptions } = options
  const child = spawn(process.execPath, [...nodeArgs, script, ...args], { ...spawnOptions, stdio: ['pipe', 'pipe', 'pipe'] })
  return new JsonProcess(child)
}
