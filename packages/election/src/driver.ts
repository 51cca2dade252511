/**
 * The driver: feeds the state machine with transport events and real time,
 * and carries out its outputs (send, persist, timers, events, requests). It
 * signs this device's claims and verifies everyone else's before the state
 * machine sees them.
 */
import { defaultLogger, type ComponentLogger, type Logger } from '@meshkit/log'
import { EventEmitter } from 'eventemitter3'
import { BehaviorSubject, type Observable } from 'rxjs'
import type { ClaimSigner, ClaimVerifier } from './claim-crypto.js'
import { claimSigningBytes, decodeHello, decodeMessage, encodeHello, encodeMessage } from './codec.js'
import { VERIFIED_CLAIM_CACHE_SIZE } from './constants.js'
import { ElectionCore } from './core.js'
import type { CoreConfig, CoreDiagnostics, CoreInput, CoreOutput, RequestResult, TimerName } from './core-types.js'
import {
  ElectionAbortedError,
  type ElectionDecodeError,
  ElectionNotStartedError,
  ElectionStoppedError,
  ElectionStoreError,
  InvalidClaimSignatureError,
  InvalidElectionConfigError,
  NotLeaderError,
  requestError,
} from './errors.js'
import type { ElectionEvents } from './events.js'
import { acceptsTerm } from './rules.js'
import { memoryElectionStore, type ElectionStore } from './store.js'
import type { ElectionTransport } from './transport.js'
import { resolveOptions, type ElectionInit } from './options.js'
import type { Claim, ElectionMessage, ElectionState, LeaderView, PeerHello } from './types.js'

/** Time and timers, injectable (tests, benchmarks). Default: `performance.now` and the global timers. */
export interface ElectionClock {
  now: () => number
  setTimeout: (fn: () => void, ms: number) => unknown
  clearTimeout: (handle: unknown) => void
}

/** Exactly the services the election needs. */
export interface ElectionComponents {
  transport: ElectionTransport
  signer: ClaimSigner
  verifier: ClaimVerifier
  /** Default: in memory (terms do not survive a restart; for tests). */
  store?: ElectionStore
  logger?: ComponentLogger
  clock?: ElectionClock
}

export interface RequestOptions {
  signal?: AbortSignal
  timeoutMs?: number
}

export interface Election extends EventEmitter<ElectionEvents> {
  readonly id: string
  /** The leader as this device sees it; emits the current value on subscribe. Completes at `stop()`. */
  readonly leader$: Observable<LeaderView>
  /** The current value of `leader$`. */
  readonly leader: LeaderView
  /** This device's term. */
  readonly term: number
  /** Loads the term, subscribes to the transport, starts timers. Idempotent. */
  start: () => Promise<void>
  /** Hands over if leading (bounded wait for the successor), then releases every timer and subscription. Idempotent. */
  stop: () => Promise<void>
  /**
   * Claims the next term; resolves when every connected peer acknowledged it
   * (quorum mode: and a majority of the roster). Rejects with
   * {@link TakeoverTimeoutError}, {@link TakeoverSupersededError},
   * {@link QuorumUnavailableError}, {@link ElectionAbortedError},
   * {@link ElectionStoppedError}.
   */
  becomeLeader: (options?: RequestOptions) => Promise<LeaderView>
  /**
   * Hands leadership to the successor (priority, then id); resolves with the
   * new leader's claim. Rejects with {@link NotLeaderError},
   * {@link NoSuccessorError}, {@link StepDownTimeoutError}, ...
   */
  stepDown: (options?: RequestOptions) => Promise<LeaderView>
  /** This device's hello extension (for the transport's hello). */
  helloState: () => Uint8Array
  /**
   * Fencing: whether a leader-originated message stamped `term` may be acted
   * on (`term >= this.term`). With `leaderId` (who sent it), a message of the
   * current term must also come from the leader this device accepted for it:
   * in availability mode two partitions can each elect a leader for the same
   * term, and only the (term, leader) pair tells them apart.
   */
  accepts: (term: number, leaderId?: string) => boolean
  /** The term to stamp on a leader-originated message; throws {@link NotLeaderError} if this device does not lead. */
  stamp: () => number
  diagnostics: () => CoreDiagnostics | undefined
}

interface Pending {
  operation: 'becomeLeader' | 'stepDown'
  timeoutMs: number
  signal: AbortSignal | undefined
  resolve: (view: LeaderView) => void
  reject: (err: Error) => void
  cleanup: () => void
}

const defaultClock: ElectionClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
}

export function createElection(init: ElectionInit, components: ElectionComponents): Election {
  return new ElectionDriver(init, components)
}

class ElectionDriver extends EventEmitter<ElectionEvents> implements Election {
  readonly id: string
  private readonly cfg: CoreConfig
  private readonly transport: ElectionTransport
  private readonly signer: ClaimSigner
  private readonly verifier: ClaimVerifier
  private readonly store: ElectionStore
  private readonly clock: ElectionClock
  private readonly log: Logger
  private readonly context: string
  private readonly takeoverTimeoutMs: number
  private readonly stepDownTimeoutMs: number
  private readonly stopHandoverMs: number
  private readonly subject: BehaviorSubject<LeaderView>

  private phase: 'idle' | 'starting' | 'running' | 'stopping' | 'stopped' = 'idle'
  private core: ElectionCore | undefined
  private startPromise: Promise<void> | undefined
  private stopPromise: Promise<void> | undefined
  private unsubscribe: (() => void) | undefined
  private readonly timers = new Map<TimerName, unknown>()
  private readonly pending = new Map<number, Pending>()
  private nextRequest = 1
  private readonly queue: CoreInput[] = []
  private draining = false
  /** Saves and sends, in order: a step's sends leave after its save. */
  private io: Promise<void> = Promise.resolve()
  /** The latest state not yet saved durably. */
  private unsaved: ElectionState | undefined
  private readonly verified = new Map<string, boolean>()
  private ownSignature: { term: number; signature: Uint8Array } | undefined
  private termWaiters: Array<() => void> = []

  constructor(init: ElectionInit, components: ElectionComponents) {
    super()
    this.transport = components.transport
    this.id = components.transport.localId
    this.signer = components.signer
    this.verifier = components.verifier
    this.store = components.store ?? memoryElectionStore()
    this.clock = components.clock ?? defaultClock
    this.log = (components.logger ?? defaultLogger()).forComponent('meshkit:election')
    this.context = init.claimContext ?? ''
    const options = resolveOptions(init, this.id)
    this.cfg = options.core
    this.takeoverTimeoutMs = options.takeoverTimeoutMs
    this.stepDownTimeoutMs = options.stepDownTimeoutMs
    this.stopHandoverMs = options.stopHandoverMs
    this.subject = new BehaviorSubject<LeaderView>({ id: undefined, term: 0, role: 'none' })
  }

  get leader$(): Observable<LeaderView> {
    return this.subject.asObservable()
  }

  get leader(): LeaderView {
    return this.subject.value
  }

  get term(): number {
    return this.core?.currentTerm ?? 0
  }

  // ---- lifecycle ----------------------------------------------------------------

  start(): Promise<void> {
    if (this.phase === 'stopping' || this.phase === 'stopped') return Promise.reject(new ElectionStoppedError('start'))
    this.startPromise ??= this.doStart()
    return this.startPromise
  }

  private async doStart(): Promise<void> {
    this.phase = 'starting'
    let saved: ElectionState | undefined
    try {
      saved = await this.store.load()
    } catch (err) {
      this.phase = 'idle'
      this.startPromise = undefined
      throw new ElectionStoreError('load', { cause: err })
    }
    if (this.phase !== 'starting') return // stopped meanwhile
    this.core = new ElectionCore(this.cfg, saved)
    this.transport.setHelloProvider(() => this.helloState())
    this.unsubscribe = this.transport.subscribe({
      peerUp: (peerId, hello) => this.onPeerUp(peerId, hello),
      peerDown: (peerId) => this.feed({ type: 'peer-down', peer: peerId }),
      message: (peerId, bytes) => this.onMessage(peerId, bytes),
    })
    this.phase = 'running'
    this.log('started: term %d, mode %s, priority %d', this.core.currentTerm, this.cfg.mode, this.cfg.priority)
    this.publish(this.core.view)
    this.feed({ type: 'start' })
    for (const p of this.transport.peers()) this.onPeerUp(p.id, p.hello)
  }

  stop(): Promise<void> {
    this.stopPromise ??= this.doStop()
    return this.stopPromise
  }

  private async doStop(): Promise<void> {
    const core = this.core
    if (this.phase !== 'running' || core === undefined) {
      this.phase = 'stopped'
      this.subject.complete()
      return
    }
    this.phase = 'stopping'
    const before = core.currentTerm
    const leading = core.view.role === 'leader'
    this.feed({ type: 'shutdown' })
    if (leading && core.view.role !== 'leader' && core.diagnostics().leaderless?.preferred !== undefined) {
      // Handed over: wait (bounded) until the successor's claim arrives, so it surely left.
      await this.waitForTerm(before, this.stopHandoverMs)
    }
    await this.io
    this.unsubscribe?.()
    this.unsubscribe = undefined
    this.transport.setHelloProvider(undefined)
    for (const handle of this.timers.values()) this.clock.clearTimeout(handle)
    this.timers.clear()
    this.publish({ id: undefined, term: core.currentTerm, role: 'none' })
    this.phase = 'stopped'
    this.subject.complete()
    this.log('stopped at term %d', core.currentTerm)
  }

  private waitForTerm(before: number, ms: number): Promise<void> {
    if (this.term > before) return Promise.resolve()
    return new Promise((resolve) => {
      const finish = (): void => {
        this.clock.clearTimeout(handle)
        this.termWaiters = this.termWaiters.filter((w) => w !== check)
        resolve()
      }
      const check = (): void => {
        if (this.term > before) finish()
      }
      const handle = this.clock.setTimeout(finish, ms)
      this.termWaiters.push(check)
    })
  }

  // ---- requests -------------------------------------------------------------------

  becomeLeader(options: RequestOptions = {}): Promise<LeaderView> {
    return this.request('becomeLeader', options.timeoutMs ?? this.takeoverTimeoutMs, options.signal)
  }

  stepDown(options: RequestOptions = {}): Promise<LeaderView> {
    return this.request('stepDown', options.timeoutMs ?? this.stepDownTimeoutMs, options.signal)
  }

  private request(operation: Pending['operation'], timeoutMs: number, signal: AbortSignal | undefined): Promise<LeaderView> {
    if (this.phase === 'stopping' || this.phase === 'stopped') return Promise.reject(new ElectionStoppedError(operation))
    if (this.phase !== 'running') return Promise.reject(new ElectionNotStartedError(operation))
    if (signal?.aborted === true) return Promise.reject(new ElectionAbortedError(operation, { cause: signal.reason }))
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) return Promise.reject(new InvalidElectionConfigError('timeoutMs', `must be a positive number, got ${timeoutMs}`))
    const request = this.nextRequest++
    return new Promise<LeaderView>((resolve, reject) => {
      const onAbort = (): void => this.feed({ type: 'cancel', request })
      signal?.addEventListener('abort', onAbort, { once: true })
      this.pending.set(request, { operation, timeoutMs, signal, resolve, reject, cleanup: () => signal?.removeEventListener('abort', onAbort) })
      const deadline = this.clock.now() + timeoutMs
      this.feed(operation === 'becomeLeader' ? { type: 'become-leader', request, deadline } : { type: 'step-down', request, deadline })
    })
  }

  private settle(request: number, result: RequestResult): void {
    const p = this.pending.get(request)
    if (p === undefined) return
    this.pending.delete(request)
    p.cleanup()
    if (result.ok) return p.resolve(result.view)
    p.reject(requestError(p.operation, result, p.timeoutMs, p.signal?.reason, this.leader.role))
  }

  // ---- helpers for the app ----------------------------------------------------------

  helloState(): Uint8Array {
    const hello = this.core?.hello() ?? { term: 0, role: 'none' as const, priority: this.cfg.priority }
    return encodeHello(hello.claim !== undefined ? { ...hello, claim: this.signed(hello.claim) } : hello)
  }

  accepts(term: number, leaderId?: string): boolean {
    if (!acceptsTerm(this.term, term)) return false
    if (leaderId === undefined || term > this.term) return true
    return this.core?.votedFor === leaderId
  }

  stamp(): number {
    const view = this.leader
    if (view.role !== 'leader') throw new NotLeaderError(view.role)
    return view.term
  }

  diagnostics(): CoreDiagnostics | undefined {
    return this.core?.diagnostics()
  }

  // ---- inbound ------------------------------------------------------------------------

  private onPeerUp(peerId: string, bytes: Uint8Array | undefined): void {
    let hello: PeerHello | undefined
    if (bytes !== undefined) {
      try {
        hello = decodeHello(bytes)
      } catch (err) {
        this.reject(peerId, 'hello', err as ElectionDecodeError)
      }
    }
    if (hello?.claim !== undefined && !this.verifyClaim(peerId, hello.claim, 'hello')) delete hello.claim
    this.feed({ type: 'peer-up', peer: peerId, ...(hello !== undefined ? { hello } : {}) })
  }

  private onMessage(peerId: string, bytes: Uint8Array): void {
    let message: ElectionMessage
    try {
      message = decodeMessage(bytes)
    } catch (err) {
      return this.reject(peerId, 'message', err as ElectionDecodeError)
    }
    if (message.kind === 'claim' && !this.verifyClaim(peerId, message.claim, 'message')) return
    this.feed({ type: 'message', from: peerId, message })
  }

  private verifyClaim(peerId: string, claim: Claim, source: 'message' | 'hello'): boolean {
    const signature = claim.signature
    let ok = false
    if (signature !== undefined) {
      const key = `${claim.leader}\u0000${claim.term}\u0000${Buffer.from(signature).toString('base64')}`
      const cached = this.verified.get(key)
      if (cached !== undefined) {
        ok = cached
      } else {
        try {
          ok = this.verifier.verify(claim.leader, claimSigningBytes(this.context, claim.term, claim.leader), signature, claim.proof) === true
        } catch {
          ok = false
        }
        if (this.verified.size >= VERIFIED_CLAIM_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value as string)
        this.verified.set(key, ok)
      }
    }
    if (!ok) this.reject(peerId, source, new InvalidClaimSignatureError(peerId, claim.leader, claim.term))
    return ok
  }

  private reject(peerId: string, source: 'message' | 'hello', error: ElectionDecodeError | InvalidClaimSignatureError): void {
    this.log.error('%s from %s rejected: %s', source, peerId, error.message)
    if (this.phase === 'running' || this.phase === 'stopping') this.emit('message:rejected', { peerId, source, error })
  }

  // ---- the loop -------------------------------------------------------------------------

  /** Steps the state machine; inputs that arrive while outputs are applied (listeners) wait their turn. */
  private feed(input: CoreInput): void {
    if (this.core === undefined || this.phase === 'stopped') return
    this.queue.push(input)
    if (this.draining) return
    this.draining = true
    try {
      for (let next = this.queue.shift(); next !== undefined; next = this.queue.shift()) {
        const core: ElectionCore = this.core
        this.apply(core.step(next, this.clock.now()))
      }
    } finally {
      this.draining = false
    }
    for (const w of [...this.termWaiters]) w()
  }

  private apply(outputs: CoreOutput[]): void {
    let persist: ElectionState | undefined
    const sends: Array<[string, Uint8Array]> = []
    for (const o of outputs) {
      switch (o.type) {
        case 'persist':
          persist = o.state
          break
        case 'send':
          this.log.trace('-> %s %s %o', o.to, o.message.kind, o.message)
          sends.push([o.to, encodeMessage(this.signedMessage(o.message))])
          break
        case 'set-timer':
          this.setTimer(o.name, o.at)
          break
        case 'cancel-timer':
          this.clearTimer(o.name)
          break
        case 'view':
          this.publish(o.view)
          break
        case 'term':
          this.log('term %d -> %d', o.previous, o.term)
          this.emit('term:changed', { term: o.term, previous: o.previous })
          break
        case 'leader-lost':
          this.log('leader %s of term %d lost: %s', o.leader, o.term, o.reason)
          this.emit('leader:lost', { leaderId: o.leader, term: o.term, reason: o.reason })
          break
        case 'settle':
          this.settle(o.request, o.result)
          break
      }
    }
    if (persist !== undefined) this.unsaved = persist
    if (persist === undefined && sends.length === 0) return
    this.io = this.io.then(async () => {
      // Nothing leaves while the latest state is not durable: a vote is only
      // announced once it survives a crash (retried with every later step).
      const state = this.unsaved
      if (state !== undefined) {
        try {
          await this.store.save(state)
          if (this.unsaved === state) this.unsaved = undefined
        } catch (err) {
          const error = new ElectionStoreError('save', { cause: err })
          this.log.error('%s', error.message)
          if (this.phase !== 'stopped') this.emit('store:error', { error })
          return
        }
      }
      for (const [to, bytes] of sends) {
        try {
          this.transport.send(to, bytes)
        } catch (err) {
          this.log.error('send to %s failed: %s', to, (err as Error).message)
        }
      }
    })
  }

  private publish(view: LeaderView): void {
    const previous = this.subject.value
    if (previous.id === view.id && previous.term === view.term && previous.role === view.role) return
    this.log('leader %s, term %d, role %s', view.id ?? '-', view.term, view.role)
    this.subject.next(view)
    this.emit('leader:changed', { leader: view, previous })
  }

  private setTimer(name: TimerName, at: number): void {
    this.clearTimer(name)
    const handle = this.clock.setTimeout(
      () => {
        this.timers.delete(name)
        this.feed({ type: 'timer', name })
      },
      Math.max(0, at - this.clock.now()),
    )
    this.timers.set(name, handle)
  }

  private clearTimer(name: TimerName): void {
    const handle = this.timers.get(name)
    if (handle === undefined) return
    this.clock.clearTimeout(handle)
    this.timers.delete(name)
  }

  private signedMessage(message: ElectionMessage): ElectionMessage {
    return message.kind === 'claim' ? { ...message, claim: this.signed(message.claim) } : message
  }

  /** This device's own claims are signed on the way out (memoized per term: Ed25519 is deterministic). */
  private signed(claim: Claim): Claim {
    if (claim.leader !== this.id || claim.signature !== undefined) return claim
    if (this.ownSignature?.term !== claim.term) {
      this.ownSignature = { term: claim.term, signature: this.signer.sign(claimSigningBytes(this.context, claim.term, claim.leader)) }
    }
    const out: Claim = { term: claim.term, leader: claim.leader, signature: this.ownSignature.signature }
    if (this.signer.proof !== undefined) out.proof = this.signer.proof
    return out
  }
}
