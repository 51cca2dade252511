/**
 * Errors of @meshkit/election: one class per condition, discriminated by `name`.
 */
import type { RequestResult } from './core-types.js'

/** `becomeLeader()` was not acknowledged by every connected peer in time. The claim stands (see the README). */
export class TakeoverTimeoutError extends Error {
  override readonly name = 'TakeoverTimeoutError'
  constructor(
    readonly term: number,
    readonly missing: string[],
    readonly timeoutMs: number,
  ) {
    super(
      `leadership of term ${term} was not acknowledged within ${timeoutMs} ms by ${missing.length > 0 ? missing.join(', ') : 'a majority'}; ` +
        'the claim stays in force and completes when they answer or disconnect (call stepDown() to give it up)',
    )
  }
}

/** A competing claim won while `becomeLeader()` was pending (higher term, or same term and smaller device id). */
export class TakeoverSupersededError extends Error {
  override readonly name = 'TakeoverSupersededError'
  constructor(
    readonly term: number,
    readonly by: { term: number; leader: string } | undefined,
  ) {
    super(
      by !== undefined
        ? `device ${by.leader} claimed term ${by.term}, which wins over this device's claim of term ${term}; call becomeLeader() again to take over from it`
        : `this device's claim of term ${term} was given up (it stepped down meanwhile)`,
    )
  }
}

/** Quorum mode: fewer than a majority of the roster is reachable, so no claim can succeed. */
export class QuorumUnavailableError extends Error {
  override readonly name = 'QuorumUnavailableError'
  constructor(
    readonly reachable: number,
    readonly needed: number,
  ) {
    super(`quorum mode needs ${needed} devices of the roster to lead, only ${reachable} are reachable; wait for more devices to connect`)
  }
}

/** `stepDown()` (or `stamp()`) on a device that does not lead. */
export class NotLeaderError extends Error {
  override readonly name = 'NotLeaderError'
  constructor(readonly role: string) {
    super(`this device is not the leader (it is ${role}); only the leader can do this`)
  }
}

/** `stepDown()` with no connected peer to hand over to. */
export class NoSuccessorError extends Error {
  override readonly name = 'NoSuccessorError'
  constructor() {
    super('no connected peer can take over; this device stays leader (stop() it, or wait for peers)')
  }
}

/** `stepDown()`: no new leader claimed within the deadline. Automatic failover continues. */
export class StepDownTimeoutError extends Error {
  override readonly name = 'StepDownTimeoutError'
  constructor(
    readonly term: number,
    readonly timeoutMs: number,
  ) {
    super(`no successor claimed leadership within ${timeoutMs} ms after stepping down from term ${term}; the mesh keeps electing one`)
  }
}

/** `stepDown()`: no successor took over, and this device claimed leadership again (its hold ran out, or `becomeLeader()` was called). */
export class HandoverFailedError extends Error {
  override readonly name = 'HandoverFailedError'
  constructor(readonly term: number) {
    super(`no successor took over, and this device claimed leadership again (term ${term}); check that the peers are running their election`)
  }
}

/** The caller's AbortSignal fired. `cause` is the signal's reason. */
export class ElectionAbortedError extends Error {
  override readonly name = 'ElectionAbortedError'
  constructor(operation: string, options?: ErrorOptions) {
    super(`${operation} was aborted by the caller`, options)
  }
}

/** The election stopped while a request was pending, or a request came after stop(). */
export class ElectionStoppedError extends Error {
  override readonly name = 'ElectionStoppedError'
  constructor(operation: string) {
    super(`${operation}: the election is stopped`)
  }
}

/** A request before start(). */
export class ElectionNotStartedError extends Error {
  override readonly name = 'ElectionNotStartedError'
  constructor(operation: string) {
    super(`${operation}: call start() first`)
  }
}

/** Why bytes are not an election message. */
export type DecodeFailure = 'too-large' | 'not-msgpack' | 'not-a-map' | 'unsupported-version' | 'unknown-kind' | 'bad-field'

/** Bytes from a peer (message, hello extension) or from the store that are not what this protocol version expects. */
export class ElectionDecodeError extends Error {
  override readonly name = 'ElectionDecodeError'
  constructor(
    readonly reason: DecodeFailure,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`malformed election data (${reason}): ${detail}`, options)
  }
}

/** A claim whose signature does not verify for the leader it names (forged, or corrupted). It was dropped. */
export class InvalidClaimSignatureError extends Error {
  override readonly name = 'InvalidClaimSignatureError'
  constructor(
    readonly peerId: string,
    readonly leader: string,
    readonly term: number,
  ) {
    super(`peer ${peerId} sent a claim of term ${term} for ${leader} whose signature does not verify; it was ignored`)
  }
}

/** The election store failed to load or save the term. */
export class ElectionStoreError extends Error {
  override readonly name = 'ElectionStoreError'
  constructor(
    readonly operation: 'load' | 'save',
    options?: ErrorOptions,
  ) {
    super(
      operation === 'load'
        ? 'could not load the election state (term, vote); fix or remove the record before starting'
        : 'could not save the election state; messages that depend on it were not sent (the device will retry with its next step)',
      options,
    )
  }
}

/** An `ElectionInit` value out of range. */
export class InvalidElectionConfigError extends Error {
  override readonly name = 'InvalidElectionConfigError'
  constructor(
    readonly field: string,
    detail: string,
  ) {
    super(`invalid election option ${field}: ${detail}`)
  }
}

/** The error a failed `becomeLeader()` / `stepDown()` rejects with. */
export function requestError(
  operation: 'becomeLeader' | 'stepDown',
  r: Extract<RequestResult, { ok: false }>,
  timeoutMs: number,
  abortReason: unknown,
  role: string,
): Error {
  switch (r.reason) {
    case 'timeout':
      return operation === 'becomeLeader' ? new TakeoverTimeoutError(r.term, r.missing ?? [], timeoutMs) : new StepDownTimeoutError(r.term, timeoutMs)
    case 'superseded':
      return new TakeoverSupersededError(r.term, r.by)
    case 'reclaimed':
      return new HandoverFailedError(r.term)
    case 'quorum-unavailable':
      return new QuorumUnavailableError(r.reachable ?? 0, r.needed ?? 0)
    case 'not-leader':
      return new NotLeaderError(role)
    case 'no-successor':
      return new NoSuccessorError()
    case 'aborted':
      return new ElectionAbortedError(operation, { cause: abortReason })
    case 'stopped':
      return new ElectionStoppedError(operation)
  }
}
