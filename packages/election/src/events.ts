/**
 * Events of an election (`election.on(name, listener)`), names in `noun:verb`
 * form, one payload type per event. No event is emitted before `start()` or
 * after `stop()` resolved.
 */
import type { ElectionDecodeError, ElectionStoreError, InvalidClaimSignatureError } from './errors.js'
import type { LeaderLostReason, LeaderView } from './types.js'

export interface LeaderChangedEvent {
  leader: LeaderView
  previous: LeaderView
}

export interface TermChangedEvent {
  term: number
  previous: number
}

export interface LeaderLostEvent {
  /** The device that led. */
  leaderId: string
  term: number
  reason: LeaderLostReason
}

export interface MessageRejectedEvent {
  peerId: string
  /** Where the bad bytes came from. */
  source: 'message' | 'hello'
  error: ElectionDecodeError | InvalidClaimSignatureError
}

export interface StoreErrorEvent {
  error: ElectionStoreError
}

export interface ElectionEvents {
  /** The leader, term or this device's role changed (same payload as `leader$`). */
  'leader:changed': (event: LeaderChangedEvent) => void
  /** The term grew (a claim, by anyone). */
  'term:changed': (event: TermChangedEvent) => void
  /** The leader this device followed is gone; a successor is on its way (unless manual-only). */
  'leader:lost': (event: LeaderLostEvent) => void
  /** A peer sent bytes that are not a valid election message, or a claim whose signature does not verify. Dropped. */
  'message:rejected': (event: MessageRejectedEvent) => void
  /** Saving the term failed: the step's messages were not sent. */
  'store:error': (event: StoreErrorEvent) => void
}
