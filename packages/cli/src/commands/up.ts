/** `meshkit up`: joins the mesh and shows it live, until Ctrl-C. */
import { createMesh, type Mesh, type MeshPeerStats } from '@meshkit/mesh'
import type { Invocation } from '../args.js'
import { closeControl, serveControl, type ControlRequest } from '../control.js'
import { untilAborted, type Io } from '../io.js'
import { meshOptions } from '../mesh-options.js'
import { resolveSecret } from '../secret.js'
import { peerLines, rates, renderView } from '../view.js'

const REDRAW_MS = 500

export async function up(inv: Invocation, io: Io, signal: AbortSignal): Promise<number> {
  const { flags } = inv
  const secret = resolveSecret(flags)
  // a persistent identity only when asked: two `up`s on one machine must not fight over one
  const mesh = await createMesh(meshOptions(flags, secret))
  const short = (id: string): string => id.slice(0, 8)
  const recent: string[] = []
  const note = (line: string, json: Record<string, unknown>): void => {
    if (flags.json) io.out(JSON.stringify({ t: Date.now(), ...json }))
    else if (!io.tty) io.out(line)
    recent.push(`${new Date().toISOString().slice(11, 19)} ${line}`)
    if (recent.length > 6) recent.shift()
  }
  note(`joined as ${mesh.id} on port ${mesh.addresses[0]?.port ?? '-'} (${flags.lan ? 'LAN' : 'loopback only'})`, { ev: 'up', id: mesh.id, port: mesh.addresses[0]?.port, app: flags.app, lan: flags.lan })
  const states = new Map<string, string>()
  mesh.peers$.subscribe((peers) => {
    for (const p of peers.values()) {
      if (states.get(p.id) === p.state) continue
      states.set(p.id, p.state)
      note(`peer ${short(p.id)} ${p.state}${p.reason !== undefined && p.state !== 'ready' ? ` (${p.reason})` : ''}`, { ev: 'peer', id: p.id, state: p.state, ...(p.reason !== undefined ? { reason: p.reason } : {}) })
    }
  })
  mesh.leader$.subscribe((l) => {
    if (l.id !== undefined) note(`leader ${short(l.id)}${l.id === mesh.id ? ' (this device)' : ''}, term ${l.term}`, { ev: 'leader', id: l.id, term: l.term, role: l.role })
  })
  mesh.on('message', (m) => {
    const text = typeof m.payload === 'string' ? m.payload : JSON.stringify(m.payload instanceof Uint8Array ? `<${m.payload.length} bytes>` : m.payload)
    note(`${short(m.from)} on ${m.channel}: ${text}`, { ev: 'message', from: m.from, channel: m.channel, payload: m.payload instanceof Uint8Array ? Buffer.from(m.payload).toString('base64') : m.payload })
  })
  mesh.on('error', (e) => note(`warning: ${e.message}`, { ev: 'warning', name: e.name, message: e.message }))

  const control = await serveControl(flags.app, (request) => answer(mesh, request))
  if (control === undefined) note('another meshkit up of this app already serves `meshkit peers/send/lead` on this machine', { ev: 'control', serving: false })

  let last: MeshPeerStats[] = mesh.stats()
  let lastAt = Date.now()
  const redraw = setInterval(() => {
    if (!io.tty || flags.json) return
    const now = mesh.stats()
    const view = renderView({ app: flags.app, id: mesh.id, port: mesh.addresses[0]?.port, scope: flags.lan ? 'lan' : 'loopback', leader: mesh.leader, peers: mesh.peers(), stats: now, rates: rates(last, now, Date.now() - lastAt), recent })
    last = now
    lastAt = Date.now()
    io.screen(view)
  }, REDRAW_MS)
  try {
    await untilAborted(signal)
  } finally {
    clearInterval(redraw)
    closeControl(control, flags.app)
    await mesh.stop()
  }
  if (!flags.json) io.out('left the mesh')
  return 0
}

async function answer(mesh: Mesh, request: ControlRequest): Promise<unknown> {
  switch (request.cmd) {
    case 'peers':
      return { id: mesh.id, leader: mesh.leader, peers: mesh.peers(), lines: peerLines(mesh.peers(), mesh.leader) }
    case 'send':
      if (typeof request.channel !== 'string' || typeof request.text !== 'string') throw new Error('send needs a channel and a text')
      return summarize(await mesh.broadcast(request.channel, request.text))
    case 'lead':
      return mesh.becomeLeader({ timeoutMs: 5_000 })
    default:
      throw new Error(`unknown control command ${String((request as { cmd: unknown }).cmd)}`)
  }
}

export function summarize(report: { delivered: string[]; skipped: string[]; failed: Array<{ peerId: string; error: Error }> }): { delivered: string[]; skipped: string[]; failed: Array<{ peerId: string; error: string }> } {
  return { delivered: report.delivered, skipped: report.skipped, failed: report.failed.map((f) => ({ peerId: f.peerId, error: f.error.message })) }
}
