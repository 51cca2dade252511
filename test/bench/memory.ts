/**
 * `pnpm bench memory [--json]`: where a device's resident memory goes, in a
 * fresh process per configuration: a bare Node process, after loading
 * @meshkit/mesh (libp2p, the QUIC addon, rxjs...), after start(), and with two
 * meshes in the process talking. Once with Node's default flags, once with
 * `--max-semi-space-size=1` (a smaller young generation: less memory, more
 * frequent minor GCs).
 */
import { spawnSync } from 'node:child_process'
import { resolve } from 'node:path'
import { parseArgs, printResult, progress } from './_util.js'

const args = parseArgs()
const child = resolve(import.meta.dirname, '_memory-child.mjs')
const measure = (flags: string[]): Record<string, number> => {
  const r = spawnSync(process.execPath, [...flags, child], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(r.stderr)
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, number>
}
const defaults = measure([])
progress(`default flags: ${JSON.stringify(defaults)}`)
const small = measure(['--max-semi-space-size=1'])
progress(`--max-semi-space-size=1: ${JSON.stringify(small)}`)
printResult(
  {
    bare_node_rss_mb: defaults.bare,
    loaded_rss_mb: defaults.loaded,
    started_rss_mb: defaults.started,
    two_meshes_rss_mb: defaults.connected_two_meshes,
    threads: defaults.threads,
    small_semispace_started_rss_mb: small.started,
    small_semispace_two_meshes_rss_mb: small.connected_two_meshes,
  },
  args.json === true,
)
