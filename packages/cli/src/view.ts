/** The live view of `meshkit up`, and its plain-line form. Pure: state in, text out. */
import type { LeaderView, MeshPeer, MeshPeerStats } from '@meshkit/mesh'

export interface ViewState {
  app: string
  id: string
  port: number | undefined
  scope: 'loopback' | 'lan'
  leader: LeaderView
  peers: MeshPeer[]
  stats: MeshPeerStats[]
  /** Messages per second per peer, sent and received, over the last interval. */
  rates: Map<string, { sent: number; received: number }>
  recent: string[]
}

const short = (id: string | undefined): string => (id === undefined ? '-' : id.slice(0, 8))

export function renderView(s: ViewState): string[] {
  const leader =
    s.leader.id === undefined ? 'no leader yet' : `leader ${short(s.leader.id)}${s.leader.id === s.id ? ' (this device)' : ''} · term ${s.leader.term}`
  const lines = [
    `meshkit up · app ${s.app} · device ${short(s.id)} · port ${s.port ?? '-'} · ${s.scope === 'loopback' ? 'loopback only (--lan for the network)' : 'LAN'}`,
    leader,
    '',
    `${'PEER'.padEnd(10)}${'STATE'.padEnd(14)}${'RTT'.padStart(9)}${'OUT/s'.padStart(8)}${'IN/s'.padStart(8)}  ADDRESS`,
  ]
  const stats = new Map(s.stats.map((x) => [x.peerId, x]))
  const peers = [...s.peers].sort((a, b) => a.id.localeCompare(b.id))
  if (peers.length === 0) lines.push('(no peers yet: other devices need the same --app and group secret)')
  for (const p of peers) {
    const rtt = stats.get(p.id)?.rttMs ?? p.rttMs
    const rate = s.rates.get(p.id)
    const state = `${p.state}${p.leader ? '*' : ''}${p.reason !== undefined && p.state !== 'ready' ? ` (${p.reason})` : ''}`
    const address = p.addresses[0] !== undefined ? `${p.addresses[0].host}:${p.addresses[0].port}` : ''
    lines.push(
      `${short(p.id).padEnd(10)}${state.padEnd(14)}${(rtt === undefined ? '-' : `${rtt.toFixed(1)} ms`).padStart(9)}${String(Math.round(rate?.sent ?? 0)).padStart(8)}${String(Math.round(rate?.received ?? 0)).padStart(8)}  ${address}`,
    )
  }
  if (s.recent.length > 0) lines.push('', 'recent:', ...s.recent.map((r) => `  ${r}`))
  lines.push('', '* leader · Ctrl-C leaves the mesh (hands leadership over)')
  return lines
}

/** Messages per second from two stats snapshots `ms` apart. */
export function rates(before: MeshPeerStats[], after: MeshPeerStats[], ms: number): Map<string, { sent: number; received: number }> {
  const prev = new Map(before.map((s) => [s.peerId, s]))
  const out = new Map<string, { sent: number; received: number }>()
  for (const s of after) {
    const p = prev.get(s.peerId)
    if (p === undefined || ms <= 0) continue
    out.set(s.peerId, { sent: (Math.max(0, s.messagesSent - p.messagesSent) * 1000) / ms, received: (Math.max(0, s.messagesReceived - p.messagesReceived) * 1000) / ms })
  }
  return out
}

/** One line per peer for `meshkit peers`. */
export function peerLines(peers: MeshPeer[], leader: LeaderView): string[] {
  if (peers.length === 0) return ['no peers found']
  return [...peers]
    .sort((a, b) => a.id.localeCompare(b.id))
    .map((p) => `${p.id}  ${p.state}${p.id === leader.id ? '  leader (term ' + String(leader.term) + ')' : ''}${p.rttMs !== undefined ? `  rtt ${p.rttMs.toFixed(1)} ms` : ''}  ${p.addresses.map((a) => `${a.host}:${a.port}`).join(' ')}`)
}
