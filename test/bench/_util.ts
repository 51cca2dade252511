/** Small helpers shared by the benchmarks. */
import { readFileSync } from 'node:fs'

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index]!
}

export function summary(samples: number[]): { p50: number; p95: number; p99: number; min: number; max: number; n: number } {
  const s = [...samples].sort((a, b) => a - b)
  return { p50: percentile(s, 50), p95: percentile(s, 95), p99: percentile(s, 99), min: s[0] ?? Number.NaN, max: s.at(-1) ?? Number.NaN, n: s.length }
}

/** `--name value` and `--flag` arguments. */
export function parseArgs(argv: string[] = process.argv.slice(2)): Record<string, string | true> {
  const out: Record<string, string | true> = {}
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (!a.startsWith('--')) continue
    const next = argv[i + 1]
    if (next !== undefined && !next.startsWith('--')) {
      out[a.slice(2)] = next
      i++
    } else {
      out[a.slice(2)] = true
    }
  }
  return out
}

export const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits

/** Progress lines go to stderr; the JSON result is the last line on stdout. */
export function progress(message: string): void {
  process.stderr.write(`${message}\n`)
}

export function printResult(result: Record<string, unknown>, json: boolean): void {
  if (!json) {
    for (const [k, v] of Object.entries(result)) process.stdout.write(`${k.padEnd(28)} ${String(v)}\n`)
  }
  process.stdout.write(`${JSON.stringify(result)}\n`)
}

/** CPU time (user + system) the processes have used so far, in ms, from /proc/<pid>/stat (Linux; clock ticks are 10 ms). */
export function cpuTimeMs(pids: number[]): number {
  return pids.reduce((sum, pid) => {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    return sum + (Number(fields[11]) + Number(fields[12])) * 10
  }, 0)
}
