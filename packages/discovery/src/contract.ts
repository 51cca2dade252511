/**
 * The one contract every discovery implementation meets (mDNS, static,
 * in-memory). The mesh depends on this file only.
 */
import type { EventEmitter } from 'eventemitter3'
import type { Observable } from 'rxjs'

/** A reachable address of a peer. IPv6 link-local addresses carry their scope (`fe80::1%eth0`). */
export interface PeerAddress {
  host: string
  port: number
  family: 4 | 6
  /** The local interface it was learned on, when known. */
  iface?: string
}

/** What this device advertises. */
export interface Advertisement {
  /** Device id (UUID); also the DNS-SD instance name. */
  id: string
  /** Ed25519 device public key (32 bytes). */
  publicKey: Uint8Array
  /** The QUIC port. */
  port: number
  /** Protocol version. */
  version: number
  /** Short group tag: peers of other groups are ignored before they are reported. */
  groupTag: string
}

/** A peer as discovery knows it. */
export interface DiscoveredPeer {
  /** Device id. Static peers listed without an id get `static:<host>:<port>` until a connection learns the real one. */
  id: string
  /** Device public key, when advertised (mDNS, memory) or configured (static). */
  publicKey?: Uint8Array
  addresses: PeerAddress[]
  port: number
  version?: number
  groupTag?: string
  /** Which implementation found it: `mdns`, `static`, `last-known`, `memory`. */
  source: string
  /** When it was last heard from (ms since the epoch). */
  lastSeen: number
}

export type LostReason = 'goodbye' | 'expired' | 'removed' | 'stopped'

export interface PeerLostEvent {
  id: string
  reason: LostReason
}

/** A known device id advertised with another key: reported, not trusted. */
export interface PeerConflictEvent {
  id: string
  knownKey: Uint8Array
  claimedKey: Uint8Array
  address?: PeerAddress
}

/** Event map of every Discovery (names in `noun:verb` form). */
export interface DiscoveryEvents {
  'peer:found': (peer: DiscoveredPeer) => void
  'peer:updated': (peer: DiscoveredPeer) => void
  'peer:lost': (event: PeerLostEvent) => void
  'peer:conflict': (event: PeerConflictEvent) => void
  /**
   * A device of the same app but another group was heard and ignored (before
   * any dial): usually a different group secret. For diagnostics (`meshkit doctor`).
   */
  'peer:foreign': (event: { id: string; groupTag: string; version: number; address: string }) => void
  /** A non-fatal problem (an interface refusing multicast, a vanished route): typed, never thrown. */
  error: (error: Error) => void
}

export interface StartOptions {
  signal?: AbortSignal
}

export interface Discovery extends EventEmitter<DiscoveryEvents> {
  /** Starts advertising and browsing. Idempotent. */
  start: (options?: StartOptions) => Promise<void>
  /** Says goodbye where the implementation can, and releases every socket and timer. Idempotent. */
  stop: () => Promise<void>
  /** Changes what is advertised (e.g. a new port) and announces it at once. */
  update: (advertisement: Partial<Advertisement>) => Promise<void>
  /** The peers known now. */
  peers: () => DiscoveredPeer[]
  /** The current peer set, on every change. */
  readonly peers$: Observable<ReadonlyMap<string, DiscoveredPeer>>
}
