/** Running the system tools the sandbox is built with (`ip`, `nft`, `sysctl`), with their stderr in the error. */
import { spawn, spawnSync } from 'node:child_process'

export class SandboxError extends Error {
  override readonly name = 'SandboxError'
}

/** Whether `command` is on the PATH. */
export function has(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0
}

/** Runs a command and returns its stdout; a {@link SandboxError} with its stderr on failure. */
export function sh(command: string, args: string[], input?: string): string {
  const r = spawnSync(command, args, { encoding: 'utf8', input })
  if (r.error !== undefined) throw new SandboxError(`${command} could not run: ${r.error.message}`, { cause: r.error })
  if (r.status !== 0) throw new SandboxError(`${command} ${args.join(' ')} failed (${r.status ?? r.signal}): ${(r.stderr || r.stdout).trim()}`)
  return r.stdout
}

/** Like {@link sh}, without blocking the event loop (processes under test keep being served). */
export async function run(command: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.once('error', (err) => reject(new SandboxError(`${command} could not run: ${err.message}`, { cause: err })))
    child.once('close', (code, signal) => {
      if (code === 0) resolve(stdout)
      else reject(new SandboxError(`${command} ${args.join(' ')} failed (${code ?? signal}): ${(stderr || stdout).trim()}`))
    })
    child.stdin.end(input)
  })
}

/** Runs a command, ignoring failure (teardown of things that may already be gone). */
export function quiet(command: string, args: string[]): void {
  spawnSync(command, args, { stdio: 'ignore' })
}
