/**
 * Inputs, outputs and configuration of the pure state machine ({@link ElectionCore}).
 */
import type { Claim, ElectionMessage, ElectionMode, ElectionState, LeaderLostReason, LeaderView, PeerHello } from './types.js'

/** Settings of the state machine; the driver fills them from `ElectionInit` and the defaults. */
export interface CoreConfig {
  /** This device's id. */
  id: string
  /** Higher leads first. */
  priority: number
  mode: ElectionMode
  /** Leadership changes only through `becomeLeader()`, handovers and merges: no automatic elections. */
  manualOnly: boolean
  /** Quorum mode: a fixed roster. Without one, the roster is learned from every device ever connected, and persisted. */
  roster?: readonly string[]
  heartbeatIntervalMs: number
  heartbeatTimeoutMs: number
  successorTimeoutMs: number
  quietPeriodMs: number
  maxQuietMs: number
  leaderAbsentGraceMs: number
  stepDownHoldMs: number
}

/** Names of the timers the state machine asks for. One timer per name: setting it again moves it. */
export type TimerName = 'tick' | 'leader-check' | 'elect' | `request:${number}`

/** What happens to the state machine. Time is passed beside each input (`step(input, now)`). */
export type CoreInput =
  | { type: 'start' }
  | { type: 'peer-up'; peer: string; hello?: PeerHello }
  | { type: 'peer-down'; peer: string }
  /** A message from a peer, decoded; claims in it already verified by the driver. */
  | { type: 'message'; from: string; message: ElectionMessage }
  | { type: 'timer'; name: TimerName }
  | { type: 'become-leader'; request: number; deadline: number }
  | { type: 'step-down'; request: number; deadline: number }
  /** The caller gave up on a request (AbortSignal). */
  | { type: 'cancel'; request: number }
  /** Graceful stop: hand over if leading, fail pending requests, claim nothing more. */
  | { type: 'shutdown' }

/** Why a request failed. */
export type RequestFailure = 'timeout' | 'superseded' | 'reclaimed' | 'quorum-unavailable' | 'not-leader' | 'no-successor' | 'aborted' | 'stopped'

export type RequestResult =
  | { ok: true; view: LeaderView }
  | {
      ok: false
      reason: RequestFailure
      term: number
      /** `timeout`: connected peers that had not acknowledged. */
      missing?: string[]
      /** `superseded`: the claim that won. */
      by?: { term: number; leader: string }
      /** `quorum-unavailable`: devices reachable (this one included) and needed. */
      reachable?: number
      needed?: number
    }

/**
 * What the driver must do. Order matters: a `persist`, when present, comes
 * first, and the step's `send`s must not leave before it is durable (a vote
 * is only given once it survives a restart).
 */
export type CoreOutput =
  | { type: 'persist'; state: ElectionState }
  | { type: 'send'; to: string; message: ElectionMessage }
  | { type: 'set-timer'; name: TimerName; at: number }
  | { type: 'cancel-timer'; name: TimerName }
  | { type: 'view'; view: LeaderView; previous: LeaderView }
  | { type: 'term'; term: number; previous: number }
  | { type: 'leader-lost'; leader: string; term: number; reason: LeaderLostReason }
  | { type: 'settle'; request: number; result: RequestResult }

/** A read-only picture of the state machine, for logs, debugging and simulations. */
export interface CoreDiagnostics {
  id: string
  term: number
  role: 'leader' | 'follower' | 'candidate' | 'none'
  view: LeaderView
  vote?: Pick<Claim, 'term' | 'leader'>
  /** Follower: the leader's heartbeat has been heard in this term. */
  confirmed: boolean
  leaderless?: { kind: 'quiet' | 'failover' | 'handover'; since: number; lost?: string; restarted?: boolean; preferred?: string }
  peers: Array<{ id: string; connected: boolean; priority: number; acked: number; suspect: boolean }>
  roster: string[]
  stopping: boolean
}
