/**
 * `meshkit peers`, `meshkit send`, `meshkit lead`: through a running
 * `meshkit up` on this machine when there is one, else (peers, send) by
 * joining the mesh for a moment.
 */
import { createMesh, type LeaderView, type MeshPeer } from '@meshkit/mesh'
import { UsageError, type Invocation } from '../args.js'
import { askRunning } from '../control.js'
import type { Io } from '../io.js'
import { meshOptions } from '../mesh-options.js'
import { resolveSecret } from '../secret.js'
import { peerLines } from '../view.js'
import { summarize } from './up.js'

const DEFAULT_WAIT_MS = 3_000

class RemoteError extends Error {
  override name = 'RemoteError'
}

async function viaRunning(inv: Invocation, request: Parameters<typeof askRunning>[1]): Promise<{ value: unknown } | undefined> {
  const reply = await askRunning(inv.flags.app, request)
  if (reply === undefined) return undefined
  if (!reply.ok) throw new RemoteError(`${reply.error.name}: ${reply.error.message}`)
  return { value: reply.value }
}

export async function peers(inv: Invocation, io: Io): Promise<number> {
  const running = await viaRunning(inv, { cmd: 'peers' })
  let list: MeshPeer[]
  let leader: LeaderView
  if (running !== undefined) {
    ;({ peers: list, leader } = running.value as { peers: MeshPeer[]; leader: LeaderView })
  } else {
    const mesh = await createMesh(meshOptions(inv.flags, resolveSecret(inv.flags)))
    try {
      await mesh.ready({ peers: Number.MAX_SAFE_INTEGER, timeoutMs: inv.flags.wait ?? DEFAULT_WAIT_MS }).catch(() => undefined)
      list = mesh.peers()
      leader = mesh.leader
    } finally {
      await mesh.stop()
    }
  }
  if (inv.flags.json) io.out(JSON.stringify({ leader, peers: list }))
  else for (const line of peerLines(list, leader)) io.out(line)
  return 0
}

export async function send(inv: Invocation, io: Io): Promise<number> {
  const [channel, text] = inv.positionals as [string, string]
  let report: ReturnType<typeof summarize>
  const running = await viaRunning(inv, { cmd: 'send', channel, text })
  if (running !== undefined) report = running.value as ReturnType<typeof summarize>
  else {
    const mesh = await createMesh(meshOptions(inv.flags, resolveSecret(inv.flags)))
    try {
      await mesh.ready({ peers: 1, timeoutMs: inv.flags.wait ?? DEFAULT_WAIT_MS }).catch(() => {
        throw new UsageError(`no peer became ready within ${inv.flags.wait ?? DEFAULT_WAIT_MS} ms: nothing was sent (meshkit doctor tells why)`)
      })
      // give the others a moment to come up too, bounded by the same wait
      await mesh.ready({ peers: Number.MAX_SAFE_INTEGER, timeoutMs: 300 }).catch(() => undefined)
      report = summarize(await mesh.broadcast(channel, text))
    } finally {
      await mesh.stop()
    }
  }
  if (inv.flags.json) io.out(JSON.stringify(report))
  else {
    io.out(`sent to ${report.delivered.length} peer(s)${report.delivered.length > 0 ? `: ${report.delivered.map((id) => id.slice(0, 8)).join(', ')}` : ''}`)
    for (const f of report.failed) io.out(`failed for ${f.peerId.slice(0, 8)}: ${f.error}`)
  }
  return report.delivered.length > 0 ? 0 : 1
}

export async function lead(inv: Invocation, io: Io): Promise<number> {
  const running = await viaRunning(inv, { cmd: 'lead' })
  if (running === undefined) {
    throw new UsageError(`no running \`meshkit up --app ${inv.flags.app}\` on this machine: start one, then \`meshkit lead\` makes it the leader`)
  }
  const leader = running.value as LeaderView
  if (inv.flags.json) io.out(JSON.stringify(leader))
  else io.out(`this device leads now: ${String(leader.id)}, term ${leader.term}`)
  return 0
}
