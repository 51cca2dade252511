/**
 * The deterministic rules every device applies the same way, with no messages
 * exchanged: successor order, tie-breaks between claims, fencing and majorities.
 */
import type { Claim } from './types.js'

/** A device as the successor order sees it. */
export interface Candidate {
  id: string
  priority: number
}

/**
 * The order in which devices take over: higher priority first, then the
 * smaller device id (plain string order, as everywhere in meshkit).
 */
export function compareCandidates(a: Candidate, b: Candidate): number {
  if (a.priority !== b.priority) return b.priority - a.priority
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}

/** `candidates` in successor order (a new array); `preferred`, when present, is moved first (a handover names it). */
export function successorOrder(candidates: readonly Candidate[], preferred?: string): Candidate[] {
  const sorted = [...candidates].sort(compareCandidates)
  if (preferred === undefined) return sorted
  const i = sorted.findIndex((c) => c.id === preferred)
  if (i <= 0) return sorted
  const [first] = sorted.splice(i, 1)
  return first === undefined ? sorted : [first, ...sorted]
}

/**
 * Which of two claims wins: the higher term; at equal terms the smaller leader
 * id. Returns a negative number when `a` wins, positive when `b` wins, 0 when
 * they name the same (term, leader).
 */
export function compareClaims(a: Pick<Claim, 'term' | 'leader'>, b: Pick<Claim, 'term' | 'leader'>): number {
  if (a.term !== b.term) return b.term - a.term
  return a.leader < b.leader ? -1 : a.leader > b.leader ? 1 : 0
}

/**
 * Fencing: whether a leader-originated message stamped `term` may be acted on
 * by a device whose term is `currentTerm`. Lower terms come from deposed
 * leaders and are dropped; a higher term means this device has not heard the
 * newer claim yet, which is on its way.
 */
export function acceptsTerm(currentTerm: number, term: number): boolean {
  return Number.isSafeInteger(term) && term >= currentTerm
}

/** Smallest number of devices that is a majority of `size`. */
export function majorityOf(size: number): number {
  return Math.floor(size / 2) + 1
}
