/**
 * An in-memory network of {@link ElectionTransport}s, for tests, examples and
 * simulations of the driver with real timers: links come up and go down on
 * command, hellos are exchanged on connect, messages arrive in order after
 * `latencyMs`, and a message in flight when its link goes down is lost.
 */
import type { ElectionTransport, ElectionTransportListener } from './transport.js'

export interface MemoryElectionNetworkInit {
  /** One-way delay of every event and message. Default 0 (next timer turn). */
  latencyMs?: number
}

export interface MemoryElectionNetwork {
  /** The transport of device `id` (created on first use). */
  transport: (id: string) => ElectionTransport
  /** Connects two devices: both see `peerUp` with the other's hello. */
  connect: (a: string, b: string) => void
  /** Cuts the link: both see `peerDown`; messages in flight are lost. */
  disconnect: (a: string, b: string) => void
  /** Connects every pair of devices created so far. */
  connectAll: () => void
  /** Cuts every link of a device (a crash, a partition of one). */
  isolate: (id: string) => void
  /** Whether the link between two devices is up. */
  linked: (a: string, b: string) => boolean
}

interface MemoryNode {
  listeners: Set<ElectionTransportListener>
  hello: (() => Uint8Array) | undefined
  /** Peers this node was told are up, with their hello. */
  view: Map<string, Uint8Array | undefined>
}

export function createMemoryElectionNetwork(init: MemoryElectionNetworkInit = {}): MemoryElectionNetwork {
  const latency = init.latencyMs ?? 0
  const nodes = new Map<string, MemoryNode>()
  const links = new Map<string, { up: boolean; gen: number }>()
  const key = (a: string, b: string): string => (a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`)
  const link = (a: string, b: string): { up: boolean; gen: number } => {
    let l = links.get(key(a, b))
    if (l === undefined) {
      l = { up: false, gen: 0 }
      links.set(key(a, b), l)
    }
    return l
  }
  const node = (id: string): MemoryNode => {
    let n = nodes.get(id)
    if (n === undefined) {
      n = { listeners: new Set(), hello: undefined, view: new Map() }
      nodes.set(id, n)
    }
    return n
  }
  const later = (fn: () => void): void => {
    setTimeout(fn, latency)
  }
  const up = (at: string, peer: string, hello: Uint8Array | undefined, gen: number): void => {
    later(() => {
      const l = link(at, peer)
      if (!l.up || l.gen !== gen) return
      const n = node(at)
      n.view.set(peer, hello)
      for (const listener of [...n.listeners]) listener.peerUp(peer, hello)
    })
  }
  const down = (at: string, peer: string): void => {
    later(() => {
      const n = node(at)
      if (!n.view.has(peer) || link(at, peer).up) return
      n.view.delete(peer)
      for (const listener of [...n.listeners]) listener.peerDown(peer)
    })
  }

  const network: MemoryElectionNetwork = {
    transport(id) {
      const n = node(id)
      return {
        localId: id,
        peers: () => [...n.view].map(([peer, hello]) => (hello !== undefined ? { id: peer, hello } : { id: peer })),
        send(peerId, message) {
          const l = link(id, peerId)
          if (!l.up) return
          const gen = l.gen
          const bytes = message.slice()
          later(() => {
            const target = node(peerId)
            if (!l.up || l.gen !== gen || !target.view.has(id)) return
            for (const listener of [...target.listeners]) listener.message(id, bytes)
          })
        },
        subscribe(listener) {
          n.listeners.add(listener)
          return () => {
            n.listeners.delete(listener)
          }
        },
        setHelloProvider(provider) {
          n.hello = provider
        },
      }
    },
    connect(a, b) {
      if (a === b) return
      const l = link(a, b)
      if (l.up) return
      l.up = true
      l.gen++
      up(a, b, node(b).hello?.(), l.gen)
      up(b, a, node(a).hello?.(), l.gen)
    },
    disconnect(a, b) {
      const l = link(a, b)
      if (!l.up) return
      l.up = false
      l.gen++
      down(a, b)
      down(b, a)
    },
    connectAll() {
      const ids = [...nodes.keys()]
      for (const a of ids) for (const b of ids) if (a < b) network.connect(a, b)
    },
    isolate(id) {
      for (const other of nodes.keys()) if (other !== id) network.disconnect(id, other)
    },
    linked: (a, b) => link(a, b).up,
  }
  return network
}
