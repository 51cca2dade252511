/**
 * The peer set every implementation keeps: found / updated / lost events and
 * the `peers$` stream, decided in one place.
 */
import type { Logger } from '@meshkit/log'
import type { EventEmitter } from 'eventemitter3'
import { BehaviorSubject } from 'rxjs'
import type { DiscoveredPeer, DiscoveryEvents, LostReason, PeerAddress } from './contract.js'

const addressKey = (a: PeerAddress): string => `${a.family}|${a.host}|${a.port}`

function sameAddresses(a: PeerAddress[], b: PeerAddress[]): boolean {
  if (a.length !== b.length) return false
  const keys = new Set(a.map(addressKey))
  return b.every((x) => keys.has(addressKey(x)))
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b
  return a.length === b.length && a.every((v, i) => v === b[i])
}

/** Whether two views of a peer differ in anything but `lastSeen`. */
export function peerChanged(before: DiscoveredPeer, after: DiscoveredPeer): boolean {
  return (
    before.port !== after.port ||
    before.version !== after.version ||
    before.groupTag !== after.groupTag ||
    !sameBytes(before.publicKey, after.publicKey) ||
    !sameAddresses(before.addresses, after.addresses)
  )
}

export class PeerTable {
  private readonly map = new Map<string, DiscoveredPeer>()
  readonly subject = new BehaviorSubject<ReadonlyMap<string, DiscoveredPeer>>(new Map())
  /** False before start and after stop: nothing is emitted then. */
  active = false

  constructor(
    private readonly events: EventEmitter<DiscoveryEvents>,
    private readonly log: Logger,
  ) {}

  get(id: string): DiscoveredPeer | undefined {
    return this.map.get(id)
  }

  all(): DiscoveredPeer[] {
    return [...this.map.values()]
  }

  /** Adds or refreshes a peer; emits `peer:found` or `peer:updated` when something changed. */
  upsert(peer: DiscoveredPeer): void {
    if (!this.active) return
    const before = this.map.get(peer.id)
    this.map.set(peer.id, peer)
    if (before === undefined) {
      this.publish()
      this.emit('peer:found', peer)
    } else if (peerChanged(before, peer)) {
      this.publish()
      this.emit('peer:updated', peer)
    }
  }

  remove(id: string, reason: LostReason): void {
    if (!this.active || !this.map.delete(id)) return
    this.publish()
    this.emit('peer:lost', { id, reason })
  }

  /** Forgets everything without events (stop) and completes the stream. */
  close(): void {
    this.active = false
    this.map.clear()
    this.subject.next(new Map())
    this.subject.complete()
  }

  private publish(): void {
    this.subject.next(new Map(this.map))
  }

  private emit<E extends keyof DiscoveryEvents>(event: E, payload: Parameters<DiscoveryEvents[E]>[0]): void {
    try {
      ;(this.events.emit as (e: string, p: unknown) => boolean)(event, payload)
    } catch (err) {
      this.log.error('a %s listener threw: %s', event, (err as Error).message)
    }
  }
}
