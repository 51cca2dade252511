/**
 * Static discovery: a fixed list of `host:port` (optionally with the device id
 * and key), plus the last-known addresses of peers seen before. For networks
 * that block multicast, and as a fallback beside mDNS.
 */
import { isDeviceId } from '@meshkit/identity'
import { defaultLogger, type ComponentLogger } from '@meshkit/log'
import { EventEmitter } from 'eventemitter3'
import { isIP } from 'node:net'
import type { Observable } from 'rxjs'
import type { Advertisement, DiscoveredPeer, Discovery, DiscoveryEvents, PeerAddress } from './contract.js'
import { InvalidDiscoveryOptionsError } from './errors.js'
import { PeerTable } from './peer-table.js'

/** A configured peer: `host:port` (`[v6]:port`), or an object with the id and key when known. */
export type StaticPeer = string | { host: string; port: number; id?: string; publicKey?: Uint8Array }

export interface StaticDiscoveryInit {
  /** Our advertisement (static discovery advertises nothing, but knows whom to skip). */
  advertisement?: Advertisement
  peers: StaticPeer[]
  /** Peers seen on earlier runs (e.g. saved from mDNS), reported with source `last-known`. */
  lastKnown?: DiscoveredPeer[]
}

/** Placeholder id of a static peer listed without one; the connection's hello learns the real id. */
export const staticPeerId = (host: string, port: number): string => `static:${host.includes(':') ? `[${host}]` : host}:${port}`

export function parseStaticPeer(peer: StaticPeer): DiscoveredPeer {
  let host: string
  let port: number
  let id: string | undefined
  let publicKey: Uint8Array | undefined
  if (typeof peer === 'string') {
    const m = /^\[([^\]]+)\]:(\d+)$/.exec(peer) ?? /^([^:]+):(\d+)$/.exec(peer)
    if (m === null) throw new InvalidDiscoveryOptionsError(`static peer "${peer}" is not host:port (IPv6: [addr]:port)`)
    host = m[1]!
    port = Number(m[2])
  } else {
    ;({ host, port, id, publicKey } = peer)
  }
  const family = isIP(host.split('%')[0] ?? '')
  if (family === 0) throw new InvalidDiscoveryOptionsError(`static peer host "${host}" is not an IP address`)
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InvalidDiscoveryOptionsError(`static peer port ${port} is not 1-65535`)
  if (id !== undefined && !isDeviceId(id)) throw new InvalidDiscoveryOptionsError(`static peer id "${id}" is not a device id (UUID)`)
  if (publicKey !== undefined && publicKey.length !== 32) throw new InvalidDiscoveryOptionsError('static peer publicKey must be 32 bytes')
  const address: PeerAddress = { host, port, family: family as 4 | 6 }
  return { id: id ?? staticPeerId(host, port), ...(publicKey !== undefined ? { publicKey } : {}), addresses: [address], port, source: 'static', lastSeen: Date.now() }
}

export class StaticDiscovery extends EventEmitter<DiscoveryEvents> implements Discovery {
  private readonly table: PeerTable
  private readonly configured: DiscoveredPeer[]
  private state: 'idle' | 'running' | 'stopped' = 'idle'

  constructor(
    private readonly init: StaticDiscoveryInit,
    components: { logger?: ComponentLogger } = {},
  ) {
    super()
    this.configured = init.peers.map(parseStaticPeer)
    this.table = new PeerTable(this, (components.logger ?? defaultLogger()).forComponent('meshkit:discovery:static'))
  }

  get peers$(): Observable<ReadonlyMap<string, DiscoveredPeer>> {
    return this.table.subject.asObservable()
  }

  peers(): DiscoveredPeer[] {
    return this.table.all()
  }

  async start(): Promise<void> {
    if (this.state !== 'idle') return
    this.state = 'running'
    this.table.active = true
    const self = this.init.advertisement?.id
    for (const p of this.init.lastKnown ?? []) if (p.id !== self) this.table.upsert({ ...p, source: 'last-known' })
    for (const p of this.configured) if (p.id !== self) this.table.upsert(p)
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return
    this.state = 'stopped'
    this.table.close()
    this.removeAllListeners()
  }

  async update(): Promise<void> {
    // nothing is advertised
  }

  /** Adds a peer at runtime. */
  add(peer: StaticPeer): DiscoveredPeer {
    const parsed = parseStaticPeer(peer)
    this.table.upsert(parsed)
    return parsed
  }

  /** Removes a peer at runtime (`peer:lost` with reason `removed`). */
  remove(id: string): void {
    this.table.remove(id, 'removed')
  }
}

export function staticDiscovery(init: StaticDiscoveryInit, components?: { logger?: ComponentLogger }): StaticDiscovery {
  return new StaticDiscovery(init, components)
}
