/**
 * The election as a pure state machine, in the manner of etcd's raft: no
 * sockets, clocks, randomness or crypto inside. `step(input, now)` takes one
 * event and the current time and returns what to do: messages to send, timers
 * to set, state to persist, views to publish, requests to settle. Two cores fed
 * the same inputs at the same times produce the same outputs.
 *
 * Rules in brief (the full text is PROTOCOL.md section 8):
 * - a device accepts at most one claim per term (its vote, persisted before it
 *   is acknowledged); a claim wins by higher term, then smaller leader id;
 * - a claimant leads once every connected peer acknowledged (availability) or
 *   a majority of the roster did (quorum); its heartbeat confirms it;
 * - two claims of the same term: the winner claims the next term, the loser
 *   gives up (a candidate) or waits for that claim (a leader);
 * - a stale claim or heartbeat is answered with the current claim;
 * - without a live leader, devices rank themselves (priority, then id) and
 *   only rank k claims, k successor timeouts after it noticed.
 */
import type { CoreConfig, CoreDiagnostics, CoreInput, CoreOutput, RequestFailure, RequestResult, TimerName } from './core-types.js'
import { MAX_TERM } from './constants.js'
import { PeerTable } from './peer-table.js'
import { majorityOf, successorOrder, type Candidate } from './rules.js'
import type { Claim, ElectionMessage, ElectionRole, ElectionState, LeaderLostReason, LeaderView, PeerHello } from './types.js'

interface Leaderless {
  /** `quiet`: no leader yet; `failover`: the leader was lost; `handover`: it stepped down naming `preferred`. */
  kind: 'quiet' | 'failover' | 'handover'
  since: number
  /** The lost leader, left out of the ranking. */
  lost?: string
  /** The lost leader restarted: it cannot lead this term again, so nothing may revive it. */
  restarted?: boolean
  preferred?: string
}

interface PendingRequest {
  kind: 'takeover' | 'step-down'
}

/** The hello fields the state machine provides (the driver encodes and signs them). */
export interface HelloState {
  term: number
  role: ElectionRole
  priority: number
  claim?: Claim
  roster?: string[]
}

const NONE: LeaderView = Object.freeze({ id: undefined, term: 0, role: 'none' })

export class ElectionCore {
  readonly id: string
  private readonly cfg: CoreConfig
  private readonly learnRoster: boolean
  private readonly roster: Set<string>
  private readonly peers = new PeerTable()
  private readonly requests = new Map<number, PendingRequest>()
  private readonly timers = new Map<TimerName, number>()
  /** Conflicting claims already forwarded to our leader in this term (by leader id). */
  private readonly forwarded = new Set<string>()

  private term = 0
  private vote: Claim | undefined
  private role: ElectionRole = 'none'
  private confirmed = false
  /** Follower: last sign of life of the leader (or when we adopted it). */
  private lastHeard = 0
  private leaderless: Leaderless | undefined
  private lastChange = 0
  private reluctantUntil = -Infinity
  /** When our current claim went out. */
  private claimedAt = 0
  private started = false
  private stopping = false

  private now = 0
  private out: CoreOutput[] = []
  private dirty = false
  private published: LeaderView = NONE
  private publishedTerm = 0

  constructor(config: CoreConfig, state?: ElectionState) {
    this.cfg = config
    this.id = config.id
    this.learnRoster = config.mode === 'quorum' && config.roster === undefined
    this.roster = new Set([config.id, ...(config.roster ?? []), ...(this.learnRoster ? (state?.roster ?? []) : [])])
    if (state !== undefined) {
      this.term = state.term
      this.vote = state.vote !== undefined && state.vote.term === state.term ? state.vote : undefined
    }
    this.published = this.currentView()
    this.publishedTerm = this.term
  }

  /** Feeds one input at time `now` (ms, any monotonic origin); returns what to do, in order. */
  step(input: CoreInput, now: number): CoreOutput[] {
    this.now = now
    this.out = []
    if (input.type === 'start') this.start()
    else if (this.started) this.dispatch(input)
    if (this.started) this.flush()
    return this.out
  }

  /** What this device stands on now. */
  get view(): LeaderView {
    return this.published
  }

  get currentTerm(): number {
    return this.term
  }

  /** The leader this device accepted for its current term (itself when it claimed), if any. */
  get votedFor(): string | undefined {
    return this.vote?.leader
  }

  /** What this device persists. */
  state(): ElectionState {
    const state: ElectionState = { term: this.term }
    if (this.vote !== undefined) state.vote = this.vote
    if (this.cfg.mode === 'quorum') state.roster = [...this.roster].sort()
    return state
  }

  /** The election's part of this device's hello. */
  hello(): HelloState {
    const hello: HelloState = { term: this.term, role: this.role, priority: this.cfg.priority }
    if (this.vote !== undefined) hello.claim = this.vote
    if (this.cfg.mode === 'quorum') hello.roster = [...this.roster].sort()
    return hello
  }

  diagnostics(): CoreDiagnostics {
    const d: CoreDiagnostics = {
      id: this.id,
      term: this.term,
      role: this.role,
      view: this.published,
      confirmed: this.confirmed,
      peers: this.peers.list(),
      roster: [...this.roster].sort(),
      stopping: this.stopping,
    }
    if (this.vote !== undefined) d.vote = { term: this.vote.term, leader: this.vote.leader }
    if (this.leaderless !== undefined) d.leaderless = { ...this.leaderless }
    return d
  }

  // ---- dispatch -------------------------------------------------------------

  private start(): void {
    if (this.started) return
    this.started = true
    this.lastChange = this.now
    if (this.vote !== undefined && this.vote.leader !== this.id) {
      // We followed someone before the restart: wait for it (absent grace), then fail over.
      this.role = 'follower'
      this.lastHeard = this.now
      this.scheduleLeaderCheck()
    } else {
      this.leaderless = { kind: 'quiet', since: this.now }
    }
  }

  private dispatch(input: Exclude<CoreInput, { type: 'start' }>): void {
    switch (input.type) {
      case 'peer-up':
        return this.onPeerUp(input.peer, input.hello)
      case 'peer-down':
        return this.onPeerDown(input.peer)
      case 'message':
        return this.onMessage(input.from, input.message)
      case 'timer':
        this.timers.delete(input.name)
        return this.onTimer(input.name)
      case 'become-leader':
        return this.onBecomeLeader(input.request, input.deadline)
      case 'step-down':
        return this.onStepDown(input.request, input.deadline)
      case 'cancel':
        return this.fail(input.request, 'aborted')
      case 'shutdown':
        return this.onShutdown()
    }
  }

  private onMessage(from: string, message: ElectionMessage): void {
    if (from === this.id) return
    const p = this.peers.find(from)
    if (p !== undefined) p.suspect = false
    switch (message.kind) {
      case 'claim':
        this.onClaim(message.claim, from, message.reply, message.abandoned === true)
        // The leader's own claim while it leads: as good as its heartbeat.
        if (message.leading === true && from === message.claim.leader) this.heard(from, message.claim.term)
        return
      case 'ack':
        return this.onAck(from, message.term, message.leader)
      case 'heartbeat':
        return this.onHeartbeat(from, message.term)
      case 'handover':
        return this.onHandover(from, message.term, message.successor)
    }
  }

  private onTimer(name: TimerName): void {
    if (name === 'tick') return this.onTick()
    if (name === 'leader-check') return this.onLeaderCheck()
    if (name === 'elect') {
      const at = this.electAt()
      if (at !== undefined && at <= this.now) this.startClaim()
      return
    }
    const id = Number(name.slice('request:'.length))
    this.fail(id, 'timeout', this.requests.get(id)?.kind === 'takeover' ? { missing: this.unacked() } : {})
  }

  // ---- membership -----------------------------------------------------------

  private onPeerUp(id: string, hello: PeerHello | undefined): void {
    if (id === this.id) return
    const p = this.peers.get(id)
    const was = p.connected
    p.connected = true
    p.suspect = false
    if (hello !== undefined) p.priority = hello.priority
    this.lastChange = this.now
    if (this.learnRoster) {
      for (const r of [id, ...(hello?.roster ?? [])]) {
        if (!this.roster.has(r)) {
          this.roster.add(r)
          this.dirty = true
        }
      }
    }
    const claim = hello?.claim
    if (claim !== undefined) {
      if (claim.term === this.term && claim.leader === this.id && this.vote?.leader === this.id) {
        // It already voted for our claim (before a reconnect): counts as its acknowledgement.
        p.acked = this.term
        p.lastAck = this.now
      } else {
        this.onClaim(claim, id, true, hello?.role === 'none')
      }
    }
    if (this.role === 'leader' || this.role === 'candidate') {
      this.announce(id)
    } else if (this.role === 'follower' && this.vote?.leader === id) {
      if (hello !== undefined && hello.term === this.term && hello.role !== 'leader' && hello.role !== 'candidate') {
        // Our leader came back without its leadership (it restarted): no heartbeat will come.
        this.loseLeader('absent')
        if (this.leaderless !== undefined) this.leaderless.restarted = true
      } else {
        this.lastHeard = this.now
        if (hello?.role === 'leader' && hello.term === this.term) this.confirmed = true
        this.scheduleLeaderCheck()
      }
    } else if (this.role === 'none' && !was && hello?.role === 'leader' && hello.term === this.term) {
      this.resume(id)
    }
  }

  private onPeerDown(id: string): void {
    const p = this.peers.find(id)
    if (p === undefined || !p.connected) return
    p.connected = false
    p.suspect = false
    this.lastChange = this.now
    if (this.role === 'follower' && this.vote?.leader === id) this.loseLeader('disconnected')
    if (this.cfg.mode === 'quorum') {
      if (this.role === 'candidate' && !this.hasMajorityView()) this.abandon('quorum-unavailable')
      else if (this.role === 'leader') this.checkContact()
    }
  }

  // ---- messages ---------------------------------------------------------------

  private onClaim(claim: Claim, from: string, reply: boolean, abandoned: boolean): void {
    if (claim.term > this.term) return this.adopt(claim)
    if (claim.term === this.term) {
      if (this.vote === undefined) return this.adopt(claim)
      if (this.vote.leader === claim.leader) {
        if (claim.leader === this.id) return
        // The claim we accepted, again (a retransmission: our acknowledgement was lost).
        if (this.role === 'follower' && from === claim.leader) this.lastHeard = this.now
        if (this.isConnected(claim.leader)) this.send(claim.leader, { kind: 'ack', term: this.term, leader: claim.leader })
        return
      }
      return this.conflict(claim, from, reply, abandoned)
    }
    // Stale: tell the sender what is current (unless it is itself an answer).
    if (!reply) this.answer(from)
  }

  /** Sends our vote to `to` as an answer, saying whether we still hold to it. */
  private answer(to: string): void {
    if (this.vote === undefined) return
    const msg: ElectionMessage = { kind: 'claim', claim: this.vote, reply: true }
    if (this.role === 'none') msg.abandoned = true
    this.send(to, msg)
  }

  /**
   * Two claims of one term: the smaller leader id wins, by moving everyone to
   * the next term. A rival that was abandoned loses whatever its id.
   */
  private conflict(claim: Claim, from: string, reply: boolean, abandoned: boolean): void {
    const mine = this.vote
    if (mine === undefined) return
    if (mine.leader === this.id) {
      if (this.role === 'candidate' || this.role === 'leader') {
        if (this.id < claim.leader || abandoned) return this.bump()
        if (this.role === 'candidate') this.abandon('superseded', claim)
        // A leader that loses keeps leading until the winner's next claim reaches it.
      }
    } else if (!this.forwarded.has(claim.leader) && this.isConnected(mine.leader) && this.role === 'follower') {
      // Our leader must learn of the rival to settle it.
      this.forwarded.add(claim.leader)
      const msg: ElectionMessage = { kind: 'claim', claim, reply: true }
      if (abandoned) msg.abandoned = true
      this.send(mine.leader, msg)
    }
    if (!reply) this.answer(from)
  }

  private onAck(from: string, term: number, leader: string): void {
    if (leader !== this.id || term !== this.term || (this.role !== 'candidate' && this.role !== 'leader')) return
    const p = this.peers.get(from)
    p.acked = term
    p.lastAck = this.now
  }

  private onHeartbeat(from: string, term: number): void {
    if (this.heard(from, term)) this.send(from, { kind: 'ack', term, leader: from })
    else if (this.vote !== undefined && term <= this.term) this.answer(from) // a deposed leader, or a rival of our vote: tell it
  }

  /** `from` says it leads `term`. If that is the leader we accepted, it is alive and confirmed. */
  private heard(from: string, term: number): boolean {
    if (term !== this.term || this.vote?.leader !== from) return false
    if (this.role === 'follower') {
      this.lastHeard = this.now
      if (!this.confirmed && this.isConnected(from)) {
        this.confirmed = true
        this.scheduleLeaderCheck()
      }
    } else if (this.role === 'none' && this.leaderless?.lost === from && this.leaderless.kind === 'failover' && this.leaderless.restarted !== true && this.isConnected(from)) {
      // The leader we gave up on still leads and nobody claimed meanwhile. (A late message from the
      // old process of a leader that restarted must not revive it.)
      this.resume(from)
    }
    return true
  }

  private onHandover(from: string, term: number, successor: string | undefined): void {
    if (term !== this.term || this.vote?.leader !== from || from === this.id) return
    const following = this.role === 'follower' || (this.role === 'none' && this.leaderless?.lost === from)
    if (!following) return
    if (this.role === 'follower') this.loseLeader(successor !== undefined ? 'handover' : 'resigned', successor)
    else this.leaderless = { kind: successor !== undefined ? 'handover' : 'quiet', since: this.now, lost: from, ...(successor !== undefined ? { preferred: successor } : {}) }
    if (successor === this.id && !this.stopping && this.canClaim()) this.startClaim()
  }

  // ---- timers -----------------------------------------------------------------

  private onTick(): void {
    if (this.role !== 'leader' && this.role !== 'candidate') return
    if (this.role === 'candidate' && this.cfg.mode === 'availability' && this.now >= this.claimedAt + this.cfg.heartbeatTimeoutMs) {
      // Peers that let our claim go unanswered as long as a silent leader would: unresponsive, stop waiting for them.
      for (const id of this.unacked()) this.peers.get(id).suspect = true
    }
    for (const id of this.peers.connectedIds()) if (this.role === 'leader' || this.peers.get(id).acked !== this.term) this.announce(id)
    if (this.role === 'leader' && this.cfg.mode === 'quorum') this.checkContact()
    if (this.role === 'leader' || this.role === 'candidate') this.setTimer('tick', this.now + this.cfg.heartbeatIntervalMs)
  }

  private onLeaderCheck(): void {
    if (this.role !== 'follower' || this.vote === undefined) return
    const at = this.leaderDeadline()
    if (this.now < at) return this.setTimer('leader-check', at)
    this.loseLeader(this.isConnected(this.vote.leader) ? 'heartbeat-timeout' : 'absent')
  }

  /**
   * When a follower gives up on its leader: a heartbeat timeout after it last
   * heard it; twice that while the claim is not confirmed yet (the claimant
   * may wait a heartbeat timeout for unresponsive peers before it leads); the
   * absent grace while it is not even connected.
   */
  private leaderDeadline(): number {
    const leader = this.vote?.leader
    if (leader === undefined || !this.isConnected(leader)) return this.lastHeard + this.cfg.leaderAbsentGraceMs
    return this.lastHeard + (this.confirmed ? 1 : 2) * this.cfg.heartbeatTimeoutMs
  }

  // ---- requests ---------------------------------------------------------------

  private onBecomeLeader(request: number, deadline: number): void {
    if (this.stopping) return this.settle(request, this.failure('stopped'))
    this.requests.set(request, { kind: 'takeover' })
    this.setTimer(`request:${request}`, deadline)
    if (this.role === 'leader' || this.role === 'candidate') return // settles when everyone acknowledged
    if (!this.canClaim()) return this.fail(request, 'quorum-unavailable', this.quorumNumbers())
    this.startClaim()
  }

  private onStepDown(request: number, deadline: number): void {
    if (this.stopping) return this.settle(request, this.failure('stopped'))
    if (this.role !== 'leader') return this.settle(request, this.failure('not-leader'))
    const successor = this.handOver()
    if (successor === undefined) return this.settle(request, this.failure('no-successor'))
    this.requests.set(request, { kind: 'step-down' })
    this.setTimer(`request:${request}`, deadline)
  }

  private onShutdown(): void {
    for (const id of [...this.requests.keys()]) this.fail(id, 'stopped')
    if (this.role === 'leader') this.handOver()
    if (this.role === 'candidate') this.abandon('stopped')
    if (this.role === 'leader') {
      // Nobody to hand over to: go quiet; peers notice the disconnection.
      this.role = 'none'
      this.leaderless = { kind: 'quiet', since: this.now }
    }
    this.stopping = true
    for (const name of [...this.timers.keys()]) this.cancelTimer(name)
  }

  /** Leader steps down in favour of its successor; returns it (undefined: nobody to hand to, still leading). */
  private handOver(): string | undefined {
    const successor = successorOrder(this.peers.candidates())[0]?.id
    if (successor === undefined) return undefined
    for (const id of this.connectedIds()) this.send(id, { kind: 'handover', term: this.term, successor })
    this.role = 'none'
    this.reluctantUntil = this.now + this.cfg.stepDownHoldMs
    this.leaderless = { kind: 'handover', since: this.now, preferred: successor }
    this.cancelTimer('tick')
    this.failTakeovers('superseded')
    return successor
  }

  private settle(request: number, result: RequestResult): void {
    this.requests.delete(request)
    this.cancelTimer(`request:${request}`)
    this.out.push({ type: 'settle', request, result })
  }

  private failure(reason: RequestFailure, extra: Partial<Extract<RequestResult, { ok: false }>> = {}): RequestResult {
    return { ok: false, reason, term: this.term, ...extra }
  }

  private fail(request: number, reason: RequestFailure, extra: Partial<Extract<RequestResult, { ok: false }>> = {}): void {
    if (this.requests.has(request)) this.settle(request, this.failure(reason, extra))
  }

  private failTakeovers(reason: RequestFailure, by?: Claim): void {
    for (const [id, r] of [...this.requests]) {
      if (r.kind === 'takeover') this.fail(id, reason, by !== undefined ? { by: { term: by.term, leader: by.leader } } : {})
    }
  }

  // ---- transitions --------------------------------------------------------------

  private startClaim(): void {
    if (this.term >= MAX_TERM) return // only a hostile member gets here; claims stop, nothing breaks
    this.term += 1
    this.vote = { term: this.term, leader: this.id }
    this.dirty = true
    this.role = 'candidate'
    this.confirmed = false
    this.leaderless = undefined
    this.reluctantUntil = -Infinity
    this.forwarded.clear()
    this.claimedAt = this.now
    this.cancelTimer('leader-check')
    for (const id of this.connectedIds()) this.announce(id)
    this.setTimer('tick', this.now + this.cfg.heartbeatIntervalMs)
    for (const [id, r] of [...this.requests]) if (r.kind === 'step-down') this.fail(id, 'reclaimed')
  }

  /**
   * We won a tie at our term (or the rival was abandoned): claim the next one.
   * Like any claim it leads only once acknowledged, so a term never has two
   * leaders among devices that see each other, whatever their views.
   */
  private bump(): void {
    this.startClaim()
  }

  private adopt(claim: Claim): void {
    this.term = claim.term
    this.vote = claim
    this.dirty = true
    this.forwarded.clear()
    // A new leader ends the failover that made anyone suspect: judge them afresh.
    this.peers.clearSuspects()
    this.cancelTimer('tick')
    this.failTakeovers('superseded', claim)
    if (claim.leader === this.id) {
      // Our own claim from before a lost store: we no longer lead it.
      this.role = 'none'
      this.confirmed = false
      this.leaderless = { kind: 'quiet', since: this.now }
      return
    }
    this.role = 'follower'
    this.confirmed = false
    this.leaderless = undefined
    this.lastHeard = this.now
    for (const [id, r] of [...this.requests]) if (r.kind === 'step-down') this.settle(id, { ok: true, view: this.currentView() })
    if (this.isConnected(claim.leader)) this.send(claim.leader, { kind: 'ack', term: claim.term, leader: claim.leader })
    this.scheduleLeaderCheck()
  }

  /**
   * A candidate gives up its claim (its vote for itself in this term stays)
   * and says so, so that devices that accepted it do not wait for heartbeats.
   */
  private abandon(reason: RequestFailure, by?: Claim): void {
    for (const id of this.connectedIds()) this.send(id, { kind: 'handover', term: this.term })
    this.role = 'none'
    this.leaderless = { kind: 'quiet', since: this.now }
    this.cancelTimer('tick')
    this.failTakeovers(reason, by)
    if (reason === 'quorum-unavailable') {
      for (const [id, r] of [...this.requests]) if (r.kind === 'takeover') this.fail(id, reason, this.quorumNumbers())
    }
  }

  private loseLeader(reason: LeaderLostReason, preferred?: string): void {
    const leader = this.vote?.leader
    if (leader === undefined) return
    this.role = 'none'
    this.confirmed = false
    // A leader that resigned (quorum lost) is followed by a quiet wait: the partition that made it resign is about to show here too.
    const kind = reason === 'handover' ? 'handover' : reason === 'resigned' ? 'quiet' : 'failover'
    this.leaderless = { kind, since: this.now, lost: leader, ...(preferred !== undefined ? { preferred } : {}) }
    if (reason === 'heartbeat-timeout') this.peers.get(leader).suspect = true
    this.cancelTimer('leader-check')
    this.out.push({ type: 'leader-lost', leader, term: this.term, reason })
  }

  /** The leader we gave up on turned out alive and still leading, and nobody claimed meanwhile. */
  private resume(leader: string): void {
    if (this.vote?.leader !== leader) return
    this.role = 'follower'
    this.confirmed = true
    this.leaderless = undefined
    this.lastHeard = this.now
    this.scheduleLeaderCheck()
  }

  /** Quorum mode: a leader without a majority in contact resigns. */
  private checkContact(): void {
    const n = this.self() + this.peers.inContact(this.roster, this.now - this.cfg.heartbeatTimeoutMs)
    if (n >= majorityOf(this.roster.size)) return
    for (const id of this.connectedIds()) this.send(id, { kind: 'handover', term: this.term })
    this.role = 'none'
    this.leaderless = { kind: 'failover', since: this.now }
    this.cancelTimer('tick')
    this.failTakeovers('quorum-unavailable')
  }

  // ---- end of step ------------------------------------------------------------

  private flush(): void {
    this.progress()
    this.scheduleElect()
    if (this.dirty) {
      this.dirty = false
      this.out.unshift({ type: 'persist', state: this.state() })
    }
    if (this.term !== this.publishedTerm) {
      this.out.push({ type: 'term', term: this.term, previous: this.publishedTerm })
      this.publishedTerm = this.term
    }
    const view = this.currentView()
    const prev = this.published
    if (view.id !== prev.id || view.term !== prev.term || view.role !== prev.role) {
      this.published = view
      this.out.push({ type: 'view', view, previous: prev })
    }
  }

  /** Completes a claim once acknowledged, and settles takeovers once everyone acknowledged. */
  private progress(): void {
    if (this.role === 'candidate') {
      const done = this.cfg.mode === 'quorum' ? this.ackedMajority() : this.unacked().length === 0
      if (done) {
        this.role = 'leader'
        for (const id of this.connectedIds()) this.announce(id)
        this.setTimer('tick', this.now + this.cfg.heartbeatIntervalMs)
      }
    }
    if (this.role === 'leader' && this.unacked().length === 0) {
      for (const [id, r] of [...this.requests]) if (r.kind === 'takeover') this.settle(id, { ok: true, view: this.currentView() })
    }
  }

  private scheduleElect(): void {
    const at = this.electAt()
    if (at === undefined) this.cancelTimer('elect')
    else this.setTimer('elect', at)
  }

  /** When this device claims if nothing changes: its rank times the successor timeout after the base time. */
  private electAt(): number | undefined {
    const ll = this.leaderless
    if (this.role !== 'none' || ll === undefined || this.stopping || this.cfg.manualOnly || !this.canClaim()) return undefined
    const order = successorOrder(this.candidates(), ll.preferred)
    const rank = order.findIndex((c) => c.id === this.id)
    if (rank < 0) return this.reluctantUntil > this.now ? this.reluctantUntil : undefined
    const base = ll.kind === 'quiet' ? Math.min(this.lastChange + this.cfg.quietPeriodMs, ll.since + this.cfg.maxQuietMs) : ll.since
    return base + rank * this.cfg.successorTimeoutMs
  }

  private candidates(): Candidate[] {
    const list = this.peers.candidates().filter((c) => c.id !== this.leaderless?.lost)
    if (this.now >= this.reluctantUntil) list.push({ id: this.id, priority: this.cfg.priority })
    return list
  }

  private scheduleLeaderCheck(): void {
    if (this.role !== 'follower' || this.vote === undefined) return this.cancelTimer('leader-check')
    this.setTimer('leader-check', this.leaderDeadline())
  }

  // ---- helpers ------------------------------------------------------------------

  private currentView(): LeaderView {
    switch (this.role) {
      case 'leader':
        return { id: this.id, term: this.term, role: 'leader' }
      case 'candidate':
        return { id: undefined, term: this.term, role: 'candidate' }
      case 'follower':
        if (this.confirmed && this.vote !== undefined) return { id: this.vote.leader, term: this.term, role: 'follower' }
        return { id: undefined, term: this.term, role: 'none' }
      case 'none':
        return { id: undefined, term: this.term, role: 'none' }
    }
  }

  private canClaim(): boolean {
    return this.cfg.mode === 'availability' || this.hasMajorityView()
  }

  private hasMajorityView(): boolean {
    return this.quorumNumbers().reachable >= majorityOf(this.roster.size)
  }

  private quorumNumbers(): { reachable: number; needed: number } {
    return { reachable: this.self() + this.peers.reachableIn(this.roster), needed: majorityOf(this.roster.size) }
  }

  /** This device's own count towards a majority: 1 if it is on the roster. */
  private self(): number {
    return this.roster.has(this.id) ? 1 : 0
  }

  private ackedMajority(): boolean {
    return this.self() + this.peers.ackedIn(this.roster, this.term) >= majorityOf(this.roster.size)
  }

  /** Connected, responsive peers that have not acknowledged our claim of this term. */
  private unacked(): string[] {
    return this.peers.unacked(this.term)
  }

  private connectedIds(): string[] {
    return this.peers.connectedIds()
  }

  private isConnected(id: string): boolean {
    return this.peers.isConnected(id)
  }

  /**
   * Tells a peer about our claim: a heartbeat if it acknowledged the claim,
   * else the claim itself (marked `leading` once we lead, so it confirms us).
   */
  private announce(to: string): void {
    if (this.vote === undefined) return
    if (this.role === 'leader' && this.peers.find(to)?.acked === this.term) return this.send(to, { kind: 'heartbeat', term: this.term })
    const msg: ElectionMessage = { kind: 'claim', claim: this.vote, reply: false }
    if (this.role === 'leader') msg.leading = true
    this.send(to, msg)
  }

  private send(to: string, message: ElectionMessage): void {
    this.out.push({ type: 'send', to, message })
  }

  private setTimer(name: TimerName, at: number): void {
    if (this.timers.get(name) === at) return
    this.timers.set(name, at)
    this.out.push({ type: 'set-timer', name, at })
  }

  private cancelTimer(name: TimerName): void {
    if (!this.timers.delete(name)) return
    this.out.push({ type: 'cancel-timer', name })
  }
}
