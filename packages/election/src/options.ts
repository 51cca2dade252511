/**
 * The driver's options: what an app may set, checked and completed with the
 * defaults of `constants.ts`.
 */
import * as C from './constants.js'
import type { CoreConfig } from './core-types.js'
import { InvalidElectionConfigError } from './errors.js'
import type { ElectionMode } from './types.js'

/** Optional settings; every default is a constant in `constants.ts`. */
export interface ElectionInit {
  /** Higher leads first (failover order, initial election). Default {@link C.DEFAULT_PRIORITY}. */
  priority?: number
  /** Default `availability`. */
  mode?: ElectionMode
  /** No automatic elections (initial, failover): leadership changes only by `becomeLeader()` and handovers. */
  manualOnly?: boolean
  /** Quorum mode: the fixed set of devices (ids) whose majority is needed. Default: learned and persisted. */
  roster?: string[]
  /** Bound into every claim's signature (meshkit: the group tag), so claims do not replay across groups. Default `''`. */
  claimContext?: string
  /** Leader heartbeat and claim retransmission interval. Default {@link C.DEFAULT_HEARTBEAT_INTERVAL_MS}. */
  heartbeatIntervalMs?: number
  /** A silent leader (or a peer silent on our claim) is given up after this. Default {@link C.DEFAULT_HEARTBEAT_TIMEOUT_MS}. */
  heartbeatTimeoutMs?: number
  /** Failover stagger per rank. Default {@link C.DEFAULT_SUCCESSOR_TIMEOUT_MS}. */
  successorTimeoutMs?: number
  /** A leaderless mesh elects once membership was quiet this long. Default {@link C.DEFAULT_QUIET_PERIOD_MS}. */
  quietPeriodMs?: number
  /** ... and no later than this after it became leaderless. Default {@link C.DEFAULT_MAX_QUIET_MS}. */
  maxQuietMs?: number
  /** Wait for a connection to a leader learned from a hello. Default {@link C.DEFAULT_LEADER_ABSENT_GRACE_MS}. */
  leaderAbsentGraceMs?: number
  /** A device that stepped down does not put itself forward for this long. Default {@link C.DEFAULT_STEP_DOWN_HOLD_MS}. */
  stepDownHoldMs?: number
  /** Default deadline of `becomeLeader()`. Default {@link C.DEFAULT_TAKEOVER_TIMEOUT_MS}. */
  takeoverTimeoutMs?: number
  /** Default deadline of `stepDown()`. Default {@link C.DEFAULT_STEP_DOWN_TIMEOUT_MS}. */
  stepDownTimeoutMs?: number
  /** `stop()` of a leader waits this long for its successor's claim. Default {@link C.DEFAULT_STOP_HANDOVER_MS}. */
  stopHandoverMs?: number
}

export interface ResolvedOptions {
  core: CoreConfig
  takeoverTimeoutMs: number
  stepDownTimeoutMs: number
  stopHandoverMs: number
}

/** Applies the defaults and checks every value; throws {@link InvalidElectionConfigError}. */
export function resolveOptions(init: ElectionInit, id: string): ResolvedOptions {
  const priority = init.priority ?? C.DEFAULT_PRIORITY
  if (!Number.isFinite(priority)) throw new InvalidElectionConfigError('priority', 'must be a finite number')
  const mode = init.mode ?? 'availability'
  if (mode !== 'availability' && mode !== 'quorum') throw new InvalidElectionConfigError('mode', `must be 'availability' or 'quorum', got ${String(mode)}`)
  if (init.roster !== undefined && !init.roster.includes(id)) throw new InvalidElectionConfigError('roster', 'must include this device')
  const core: CoreConfig = {
    id,
    priority,
    mode,
    manualOnly: init.manualOnly ?? false,
    heartbeatIntervalMs: positive(init, 'heartbeatIntervalMs', C.DEFAULT_HEARTBEAT_INTERVAL_MS),
    heartbeatTimeoutMs: positive(init, 'heartbeatTimeoutMs', C.DEFAULT_HEARTBEAT_TIMEOUT_MS),
    successorTimeoutMs: positive(init, 'successorTimeoutMs', C.DEFAULT_SUCCESSOR_TIMEOUT_MS),
    quietPeriodMs: positive(init, 'quietPeriodMs', C.DEFAULT_QUIET_PERIOD_MS),
    maxQuietMs: positive(init, 'maxQuietMs', C.DEFAULT_MAX_QUIET_MS),
    leaderAbsentGraceMs: positive(init, 'leaderAbsentGraceMs', C.DEFAULT_LEADER_ABSENT_GRACE_MS),
    stepDownHoldMs: positive(init, 'stepDownHoldMs', C.DEFAULT_STEP_DOWN_HOLD_MS),
    ...(init.roster !== undefined ? { roster: [...init.roster] } : {}),
  }
  if (core.heartbeatTimeoutMs <= core.heartbeatIntervalMs) {
    throw new InvalidElectionConfigError('heartbeatTimeoutMs', 'must exceed heartbeatIntervalMs (a few heartbeats may be late)')
  }
  return {
    core,
    takeoverTimeoutMs: positive(init, 'takeoverTimeoutMs', C.DEFAULT_TAKEOVER_TIMEOUT_MS),
    stepDownTimeoutMs: positive(init, 'stepDownTimeoutMs', C.DEFAULT_STEP_DOWN_TIMEOUT_MS),
    stopHandoverMs: positive(init, 'stopHandoverMs', C.DEFAULT_STOP_HANDOVER_MS),
  }
}

function positive(init: ElectionInit, field: keyof ElectionInit, fallback: number): number {
  const v = init[field] ?? fallback
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new InvalidElectionConfigError(field, `must be a positive number of ms, got ${String(v)}`)
  return v
}
