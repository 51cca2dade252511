/**
 * The mesh as one device can draw it, free of I/O. Each device knows only its
 * own connections; every device broadcasts them (a `TopologyReport`) once a
 * second, and each device joins its own view with the reports of the peers it
 * is connected to.
 */

export interface PeerRate {
  id: string
  /** Messages per second to and from this peer, as the reporter counts them. */
  out: number
  in: number
  rttMs?: number
}

/** What every device broadcasts on the `topology` channel. */
export interface TopologyReport {
  id: string
  /** Peers the reporter is connected to (ready), with message rates. */
  peers: PeerRate[]
  /** The reporter's board, so followers notice they fell behind. */
  board: { term: number; version: number }
  leader: { id: string | undefined; term: number }
}

export interface TopologyNode {
  id: string
  self: boolean
  leader: boolean
  /** Messages per second, in and out, summed over its peers (from its own report). */
  in: number
  out: number
}

export interface TopologyLink {
  a: string
  b: string
  /** Messages per second over this connection, both directions (from one endpoint's report). */
  rate: number
  rttMs?: number
}

export interface Topology {
  nodes: TopologyNode[]
  links: TopologyLink[]
}

/** Whether a report parsed from a peer looks like one (the rest is trusted as plain data). */
export function parseReport(value: unknown): TopologyReport | undefined {
  if (value === null || typeof value !== 'object') return undefined
  const v = value as Partial<TopologyReport>
  if (typeof v.id !== 'string' || !Array.isArray(v.peers) || typeof v.board !== 'object' || typeof v.leader !== 'object') return undefined
  const peers = v.peers.filter((p): p is PeerRate => typeof p === 'object' && p !== null && typeof p.id === 'string' && typeof p.in === 'number' && typeof p.out === 'number')
  return { id: v.id, peers, board: v.board, leader: v.leader }
}

const round = (n: number): number => Math.round(n * 10) / 10

/**
 * Joins this device's own report with the latest reports of the peers it is
 * connected to. Nodes: this device, its ready peers, and the peers they report
 * (a device this one cannot reach directly still shows). Links: one per pair
 * that either side reports connected; a report from a device this one is no
 * longer connected to is left out, so a crashed device disappears as soon as
 * its connection does.
 */
export function buildTopology(self: TopologyReport, reports: ReadonlyMap<string, TopologyReport>, leaderId: string | undefined): Topology {
  const ready = new Set(self.peers.map((p) => p.id))
  const sources = [self, ...[...reports.values()].filter((r) => r.id !== self.id && ready.has(r.id))]
  const ids = new Set<string>([self.id])
  for (const r of sources) {
    ids.add(r.id)
    for (const p of r.peers) ids.add(p.id)
  }
  const links = new Map<string, TopologyLink>()
  for (const r of sources) {
    for (const p of r.peers) {
      const [a, b] = r.id < p.id ? [r.id, p.id] : [p.id, r.id]
      const key = `${a} ${b}`
      // this device's own numbers win over a peer's report of the same link
      if (links.has(key) && r !== self) continue
      links.set(key, { a, b, rate: round(p.in + p.out), ...(p.rttMs !== undefined ? { rttMs: p.rttMs } : {}) })
    }
  }
  const bySource = new Map(sources.map((r) => [r.id, r]))
  const nodes = [...ids].sort().map((id): TopologyNode => {
    const r = bySource.get(id)
    return {
      id,
      self: id === self.id,
      leader: id === leaderId,
      in: round(r?.peers.reduce((s, p) => s + p.in, 0) ?? 0),
      out: round(r?.peers.reduce((s, p) => s + p.out, 0) ?? 0),
    }
  })
  return { nodes, links: [...links.values()].sort((x, y) => (x.a + x.b < y.a + y.b ? -1 : 1)) }
}
