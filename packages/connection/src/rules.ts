/**
 * The pure rules every device applies the same way, so a pair reaches the same
 * decision without talking about it.
 */
import { compareDeviceIds } from '@meshkit/identity'

/** The device with the smaller id dials; the larger one waits (then dials too after a grace period). */
export function isPreferredDialer(localId: string, remoteId: string): boolean {
  return compareDeviceIds(localId, remoteId) < 0
}

/** What the dialing rule says to do about a wanted peer that is not connected. */
export type DialPlan = { action: 'dial-now' } | { action: 'dial-at'; at: number }

/**
 * The smaller id dials at once; the larger gives it `graceMs` to do so first.
 * Without a known id (static address), dial at once: the hello tells who it is.
 */
export function dialPlan(localId: string, remoteId: string | undefined, now: number, graceMs: number): DialPlan {
  if (remoteId === undefined || isPreferredDialer(localId, remoteId)) return { action: 'dial-now' }
  return { action: 'dial-at', at: now + graceMs }
}

/** What each side knows of one established connection of a pair. */
export interface ConnectionCandidate {
  /** The device that dialed it. */
  dialerId: string
  /** Nonces from the two hellos. */
  dialerNonce: Uint8Array
  listenerNonce: Uint8Array
  /** The remote device's session epoch, from its hello. */
  remoteEpoch: Uint8Array
  /** Local order in which the connections completed their hello (only used across epochs). */
  establishedSeq: number
}

export type DuplicateRule = 'newer-epoch' | 'preferred-dialer' | 'nonce-order'

export interface DuplicateDecision {
  keep: 'a' | 'b'
  reason: 'duplicate' | 'restart'
  rule: DuplicateRule
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!
    if (d !== 0) return d
  }
  return a.length - b.length
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return compareBytes(a, b) === 0
}

/**
 * Which of two established connections between the same two devices stays.
 *
 * 1. Different remote epochs: the peer restarted; the connection from its
 *    current session (the one established later) replaces the stale one at
 *    once (`restart`). Only the side that saw both can have this case.
 * 2. Same epochs (simultaneous open, fallback dial): keep the connection dialed
 *    by the smaller id (`preferred-dialer`); if both were dialed by the same
 *    side, the one with the smaller (dialer nonce, listener nonce)
 *    (`nonce-order`). Both sides know both nonces of both connections, so both
 *    keep the same one.
 */
export function decideDuplicate(a: ConnectionCandidate, b: ConnectionCandidate, localId: string, remoteId: string): DuplicateDecision {
  if (!sameBytes(a.remoteEpoch, b.remoteEpoch)) {
    return { keep: a.establishedSeq > b.establishedSeq ? 'a' : 'b', reason: 'restart', rule: 'newer-epoch' }
  }
  const smaller = compareDeviceIds(localId, remoteId) < 0 ? localId : remoteId
  const aPreferred = a.dialerId === smaller
  const bPreferred = b.dialerId === smaller
  if (aPreferred !== bPreferred) return { keep: aPreferred ? 'a' : 'b', reason: 'duplicate', rule: 'preferred-dialer' }
  const order = compareBytes(a.dialerNonce, b.dialerNonce) || compareBytes(a.listenerNonce, b.listenerNonce)
  return { keep: order <= 0 ? 'a' : 'b', reason: 'duplicate', rule: 'nonce-order' }
}
