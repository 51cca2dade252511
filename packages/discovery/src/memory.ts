/**
 * In-memory discovery for unit tests and simulations: members of one
 * `MemoryDiscoveryNetwork` see each other (same group only) the instant they
 * start, and lose each other on stop (`goodbye`) or crash (`expired`).
 * Partitions hide members from each other until healed.
 */
import { defaultLogger, type ComponentLogger } from '@meshkit/log'
import { EventEmitter } from 'eventemitter3'
import type { Observable } from 'rxjs'
import type { Advertisement, DiscoveredPeer, Discovery, DiscoveryEvents, LostReason, PeerAddress } from './contract.js'
import { InvalidDiscoveryOptionsError } from './errors.js'
import { PeerTable } from './peer-table.js'

export interface MemoryDiscoveryNetwork {
  /** Members that are started, by id. */
  readonly members: ReadonlyMap<string, MemoryDiscovery>
  /** Hides the groups from each other (ids in no group see nobody). */
  partition: (groups: string[][]) => void
  heal: () => void
  /** Drops a member as if its process died: the others lose it with reason `expired`. */
  crash: (id: string) => void
  /** Whether two members currently see each other. */
  visible: (a: string, b: string) => boolean
}

class Network implements MemoryDiscoveryNetwork {
  readonly members = new Map<string, MemoryDiscovery>()
  private groups: Map<string, number> | undefined

  visible(a: string, b: string): boolean {
    if (this.groups === undefined) return true
    const ga = this.groups.get(a)
    return ga !== undefined && ga === this.groups.get(b)
  }

  join(m: MemoryDiscovery): void {
    this.members.set(m.advertisement.id, m)
    for (const other of this.members.values()) {
      if (other === m || !this.visible(m.advertisement.id, other.advertisement.id)) continue
      other.saw(m)
      m.saw(other)
    }
  }

  changed(m: MemoryDiscovery): void {
    for (const other of this.members.values()) if (other !== m && this.visible(m.advertisement.id, other.advertisement.id)) other.saw(m)
  }

  leave(m: MemoryDiscovery, reason: LostReason): void {
    if (this.members.get(m.advertisement.id) !== m) return
    this.members.delete(m.advertisement.id)
    for (const other of this.members.values()) other.lost(m.advertisement.id, reason)
  }

  crash(id: string): void {
    const m = this.members.get(id)
    if (m !== undefined) {
      this.leave(m, 'expired')
      m.crashed()
    }
  }

  partition(groups: string[][]): void {
    const before = this.pairs()
    this.groups = new Map(groups.flatMap((g, i) => g.map((id) => [id, i] as const)))
    this.apply(before)
  }

  heal(): void {
    const before = this.pairs()
    this.groups = undefined
    this.apply(before)
  }

  private pairs(): Set<string> {
    const out = new Set<string>()
    for (const a of this.members.keys()) for (const b of this.members.keys()) if (a !== b && this.visible(a, b)) out.add(`${a}|${b}`)
    return out
  }

  private apply(before: Set<string>): void {
    const after = this.pairs()
    for (const pair of before) {
      if (after.has(pair)) continue
      const [a, b] = pair.split('|') as [string, string]
      this.members.get(a)?.lost(b, 'expired')
    }
    for (const pair of after) {
      if (before.has(pair)) continue
      const [a, b] = pair.split('|') as [string, string]
      const other = this.members.get(b)
      if (other !== undefined) this.members.get(a)?.saw(other)
    }
  }
}

export function createMemoryDiscoveryNetwork(): MemoryDiscoveryNetwork {
  return new Network()
}

export interface MemoryDiscoveryInit {
  advertisement: Advertisement
  network: MemoryDiscoveryNetwork
  /** Addresses others see for this member. Default `127.0.0.1:<advertised port>`. */
  addresses?: PeerAddress[]
}

export class MemoryDiscovery extends EventEmitter<DiscoveryEvents> implements Discovery {
  advertisement: Advertisement
  private readonly table: PeerTable
  private readonly network: Network
  private state: 'idle' | 'running' | 'stopped' = 'idle'

  constructor(
    private readonly init: MemoryDiscoveryInit,
    components: { logger?: ComponentLogger } = {},
  ) {
    super()
    if (!(init.network instanceof Network)) throw new InvalidDiscoveryOptionsError('network must come from createMemoryDiscoveryNetwork()')
    this.network = init.network
    this.advertisement = { ...init.advertisement }
    this.table = new PeerTable(this, (components.logger ?? defaultLogger()).forComponent('meshkit:discovery:memory'))
  }

  get peers$(): Observable<ReadonlyMap<string, DiscoveredPeer>> {
    return this.table.subject.asObservable()
  }

  peers(): DiscoveredPeer[] {
    return this.table.all()
  }

  /** How others see this member. */
  describe(): DiscoveredPeer {
    const ad = this.advertisement
    const addresses = this.init.addresses?.map((a) => ({ ...a, port: ad.port })) ?? [{ host: '127.0.0.1', port: ad.port, family: 4 as const }]
    return { id: ad.id, publicKey: ad.publicKey, addresses, port: ad.port, version: ad.version, groupTag: ad.groupTag, source: 'memory', lastSeen: Date.now() }
  }

  async start(): Promise<void> {
    if (this.state !== 'idle') return
    this.state = 'running'
    this.table.active = true
    this.network.join(this)
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return
    const wasRunning = this.state === 'running'
    this.state = 'stopped'
    if (wasRunning) this.network.leave(this, 'goodbye')
    this.table.close()
    this.removeAllListeners()
  }

  async update(advertisement: Partial<Advertisement>): Promise<void> {
    this.advertisement = { ...this.advertisement, ...advertisement, id: this.advertisement.id }
    if (this.state === 'running') this.network.changed(this)
  }

  /** @internal called by the network */
  saw(other: MemoryDiscovery): void {
    if (this.state !== 'running') return
    if (other.advertisement.groupTag !== this.advertisement.groupTag) return
    this.table.upsert(other.describe())
  }

  /** @internal called by the network */
  lost(id: string, reason: LostReason): void {
    this.table.remove(id, reason)
  }

  /** @internal the network dropped us (simulated crash): stop without a goodbye. */
  crashed(): void {
    this.state = 'stopped'
    this.table.close()
  }
}

export function memoryDiscovery(init: MemoryDiscoveryInit, components?: { logger?: ComponentLogger }): MemoryDiscovery {
  return new MemoryDiscovery(init, components)
}
