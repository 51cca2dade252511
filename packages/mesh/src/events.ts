/**
 * What a mesh reports: the typed event map (`mesh.on(name, listener)`, names in
 * `noun:verb` form) and the values of its observables.
 */
import type { CloseReason, DuplicateClosedEvent, RejectReason } from '@meshkit/connection'
import type { PeerAddress } from '@meshkit/discovery'
import type { LeaderView } from '@meshkit/election'

/** Where a peer stands. */
export type MeshPeerState = 'discovered' | 'connecting' | 'ready' | 'disconnected' | 'rejected'

export interface MeshPeer {
  id: string
  state: MeshPeerState
  addresses: PeerAddress[]
  rttMs?: number
  /** Why it is not ready, when known (close or reject reason). */
  reason?: CloseReason | RejectReason
  /** Whether it leads (as this device sees it). */
  leader: boolean
}

/** A message delivered to the app. */
export interface MeshMessage<T = unknown> {
  from: string
  channel: string
  /** Bytes as sent, or the decoded value. */
  payload: T
  /** The sender's leader term, on leader-originated messages. */
  term?: number
}

export type MeshStatus = 'starting' | 'running' | 'stopping' | 'stopped'

export interface BroadcastReport {
  /** Peers the message was handed to (or queued for, on a reliable channel). */
  delivered: string[]
  /** Peers skipped because they were not reading (`broadcast: 'skip'` channels). */
  skipped: string[]
  failed: Array<{ peerId: string; error: Error }>
}

export interface TimelineEntry {
  /** ms since the epoch */
  t: number
  peer?: string
  event: string
  detail?: Record<string, unknown>
}

export interface MeshEvents {
  'peer:discovered': (event: { peerId: string; addresses: PeerAddress[] }) => void
  'peer:connecting': (event: { peerId: string }) => void
  'peer:ready': (event: { peerId: string; reconnect: boolean }) => void
  'peer:disconnected': (event: { peerId: string; reason: CloseReason }) => void
  'peer:rejected': (event: { peerId?: string; reason: RejectReason; byPeer: boolean; error: Error }) => void
  'peer:lost': (event: { peerId: string; reason: string }) => void
  'connection:duplicate-closed': (event: DuplicateClosedEvent) => void
  'leader:changed': (event: { leader: LeaderView; previous: LeaderView }) => void
  message: (message: MeshMessage) => void
  /** A reliable message given up after the outbox's age limit. */
  'message:expired': (event: { peerId: string; channel: string; id: number }) => void
  /** Something went wrong that did not stop the mesh (discovery errors, malformed messages, handler errors). */
  error: (error: Error) => void
  'status:changed': (status: MeshStatus) => void
}
