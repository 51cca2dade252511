/**
 * Events of the connection layer (`layer.on(name, listener)`), names in
 * `noun:verb` form, one payload type per event.
 */
import type { ChannelMessage } from './channel-in.js'
import type { ConnectionRejectedError, ProtocolError } from './errors.js'
import type { HostPort } from './libp2p-node.js'
import type { CloseReason, RejectReason } from './reasons.js'
import type { DuplicateRule } from './rules.js'

/** A connection as both sides can name it. */
export interface ConnectionRef {
  /** This side's id of the connection. */
  id: string
  /** The same on both sides: hex of (dialer nonce, listener nonce) from the two hellos. */
  key: string
  direction: 'inbound' | 'outbound'
  /** The device that dialed it. */
  dialerId: string
}

export interface PeerConnectedEvent {
  peerId: string
  connection: ConnectionRef
  /** The peer's public key, proven by QUIC/TLS and bound to its id by the group credential. */
  publicKey: Uint8Array
  /** The peer's session epoch (hex): changes when its process restarts. */
  epoch: string
  /** Where the peer listens, from its hello. */
  listenAddresses: HostPort[]
  /** Upper layers' hello extensions (election state, ...). */
  ext: Record<string, unknown>
  /** True when this is not the first connection to this peer. */
  reconnect: boolean
}

export interface PeerDisconnectedEvent {
  peerId: string
  connection: ConnectionRef
  reason: CloseReason
  error?: Error
}

export interface PeerRejectedEvent {
  /** The claimed device id, when the hello got that far. */
  peerId?: string
  /** The remote address, when known. */
  address?: HostPort
  direction: 'inbound' | 'outbound'
  reason: RejectReason
  /** True when the other side refused our hello; false when we refused theirs. */
  byPeer: boolean
  error: ConnectionRejectedError
}

export interface DuplicateClosedEvent {
  peerId: string
  kept: ConnectionRef
  closed: ConnectionRef
  /** `duplicate`: two live connections (simultaneous open, fallback dial); `restart`: the peer restarted. */
  reason: 'duplicate' | 'restart'
  rule: DuplicateRule
}

export interface ProtocolErrorEvent {
  peerId: string
  connection: ConnectionRef
  error: ProtocolError
}

export interface DialEvent {
  peerId?: string
  address: HostPort
  attempt: number
}

export interface DialFailedEvent extends DialEvent {
  error: Error
}

export interface HandlerErrorEvent {
  error: unknown
  message: ChannelMessage
}

export interface ConnectionLayerEvents {
  'peer:connected': (event: PeerConnectedEvent) => void
  'peer:disconnected': (event: PeerDisconnectedEvent) => void
  'peer:rejected': (event: PeerRejectedEvent) => void
  'peer:dialing': (event: DialEvent) => void
  'peer:dial-failed': (event: DialFailedEvent) => void
  'connection:duplicate-closed': (event: DuplicateClosedEvent) => void
  'connection:protocol-error': (event: ProtocolErrorEvent) => void
  /** A channel handler threw or rejected. The message counts as delivered. */
  'handler:error': (event: HandlerErrorEvent) => void
}

/** Where a peer stands, as seen by this device. */
export type PeerConnectionState = 'waiting' | 'dialing' | 'connected' | 'disconnected' | 'rejected'

export interface PeerInfo {
  id: string
  state: PeerConnectionState
  /** Whether the app (discovery, static config) wants this peer connected. */
  wanted: boolean
  addresses: HostPort[]
  connection?: ConnectionRef
  rttMs?: number
  /** The last rejection or close reason. */
  lastReason?: CloseReason
}

export interface PeerStats {
  peerId: string
  state: PeerConnectionState
  rttMs: number | undefined
  messagesSent: number
  messagesReceived: number
  bytesSent: number
  bytesReceived: number
  streamsOpened: number
  reconnects: number
  connections: number
}
