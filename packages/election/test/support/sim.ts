/**
 * A discrete-event simulation of N election cores over an in-memory network:
 * simulated time (no sleeps), seeded delays, message loss, crashes, restarts
 * from the persisted state, graceful stops, partitions and heals. Every
 * message goes through the real codec and claim signatures (a fake keyed hash
 * instead of Ed25519), exactly as the driver does it.
 *
 * The simulation checks safety invariants on every step and records them in
 * `violations`; tests add liveness checks (convergence, stability, takeover).
 */
import {
  claimSigningBytes,
  decodeHello,
  decodeMessage,
  ElectionCore,
  encodeHello,
  encodeMessage,
  majorityOf,
  type Claim,
  type CoreConfig,
  type CoreInput,
  type CoreOutput,
  type ElectionMessage,
  type ElectionMode,
  type ElectionState,
  type LeaderView,
  type RequestResult,
  type TimerName,
} from '../../src/index.js'
import { describeInput, describeOutput, fmtView, short } from './describe.js'
import { fakeSigner, fakeVerifier } from './fake-crypto.js'

export { fmtView, short }
import { Random, simId } from './random.js'

export type Timing = Pick<
  CoreConfig,
  'heartbeatIntervalMs' | 'heartbeatTimeoutMs' | 'successorTimeoutMs' | 'quietPeriodMs' | 'maxQuietMs' | 'leaderAbsentGraceMs' | 'stepDownHoldMs'
>

export const DEFAULT_TIMING: Timing = {
  heartbeatIntervalMs: 250,
  heartbeatTimeoutMs: 1000,
  successorTimeoutMs: 500,
  quietPeriodMs: 500,
  maxQuietMs: 3000,
  leaderAbsentGraceMs: 1000,
  stepDownHoldMs: 2000,
}

export interface SimInit {
  seed: number
  /** Device count, or their priorities. */
  nodes: number | number[]
  mode?: ElectionMode
  manualOnly?: boolean
  /** Quorum mode: configure the roster (default) or let devices learn it. */
  fixedRoster?: boolean
  timing?: Partial<Timing>
  /** One-way message delay range, ms. */
  latency?: [number, number]
  /** How long until a device notices a connection that died (crash, cut): QUIC idle timeout. */
  detect?: [number, number]
  /** How long until a possible connection is established. */
  connectDelay?: [number, number]
  /** Keep a trace of events (for replaying a failed seed). */
  trace?: boolean
  /** Stop the leader's stop() wait for its successor after this long. */
  stopHandoverMs?: number
}

interface SimEvent {
  at: number
  seq: number
  fn: () => void
}

interface Pair {
  a: string
  b: string
  state: 'down' | 'connecting' | 'up' | 'closing'
  gen: number
  cut: boolean
  /** Latest scheduled arrival per direction (FIFO per connection). */
  lastAt: Map<string, number>
}

export interface SimRequest {
  node: string
  kind: 'takeover' | 'step-down'
  issuedAt: number
  result?: RequestResult
  settledAt?: number
  /** The node crashed before the request settled. */
  lost?: boolean
}

export class SimNode {
  alive = true
  core: ElectionCore | undefined
  stored: ElectionState | undefined
  readonly timers = new Map<TimerName, number>()
  /** Peers this node was told are connected, with the connection's generation. */
  readonly view = new Map<string, number>()
  readonly requests = new Map<number, SimRequest>()
  claims = 0
  exiting: { before: number } | undefined
  /** A hung process: its connections stay up, it processes nothing. */
  hung = false

  constructor(
    readonly id: string,
    readonly priority: number,
  ) {}

  get leader(): LeaderView {
    return this.core?.view ?? { id: undefined, term: this.stored?.term ?? 0, role: 'none' }
  }
}

export class Sim {
  readonly rng: Random
  readonly nodes: SimNode[] = []
  readonly byId = new Map<string, SimNode>()
  readonly violations: string[] = []
  readonly mode: ElectionMode
  readonly manualOnly: boolean
  readonly roster: string[] | undefined
  readonly timing: Timing
  now = 0
  loss = 0
  spike = 0
  viewChanges = 0
  lastViewChangeAt = 0
  rejectedClaims = 0
  readonly trace: string[] = []
  /** Terms in which each device completed a claim (became leader). */
  readonly completed = new Map<number, Set<string>>()

  private readonly heap: SimEvent[] = []
  private seq = 0
  private readonly pairs = new Map<string, Pair>()
  private readonly latency: [number, number]
  private readonly detect: [number, number]
  private readonly connectDelay: [number, number]
  private readonly tracing: boolean
  private readonly stopHandoverMs: number
  private nextRequest = 1

  constructor(init: SimInit) {
    this.rng = new Random(init.seed)
    this.mode = init.mode ?? 'availability'
    this.manualOnly = init.manualOnly ?? false
    this.timing = { ...DEFAULT_TIMING, ...init.timing }
    this.latency = init.latency ?? [0.1, 2]
    this.detect = init.detect ?? [750, 1000]
    this.connectDelay = init.connectDelay ?? [5, 400]
    this.tracing = init.trace ?? false
    this.stopHandoverMs = init.stopHandoverMs ?? 250
    const priorities = typeof init.nodes === 'number' ? Array.from({ length: init.nodes }, () => 0) : init.nodes
    priorities.forEach((priority, i) => {
      const node = new SimNode(simId(i, this.rng), priority)
      this.nodes.push(node)
      this.byId.set(node.id, node)
    })
    this.roster = this.mode === 'quorum' && init.fixedRoster !== false ? this.nodes.map((n) => n.id) : undefined
    for (const a of this.nodes) for (const b of this.nodes) if (a.id < b.id) this.pairs.set(`${a.id}|${b.id}`, { a: a.id, b: b.id, state: 'down', gen: 0, cut: false, lastAt: new Map() })
    for (const n of this.nodes) this.boot(n)
  }

  // ---- time -------------------------------------------------------------------

  at(at: number, fn: () => void): number {
    const ev = { at: Math.max(at, this.now), seq: ++this.seq, fn }
    this.heap.push(ev)
    let i = this.heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(ev, this.heap[parent] as SimEvent)) break
      this.heap[i] = this.heap[parent] as SimEvent
      i = parent
    }
    this.heap[i] = ev
    return ev.seq
  }

  private pop(): SimEvent | undefined {
    const heap = this.heap
    const top = heap[0]
    const last = heap.pop()
    if (top === undefined || last === undefined || heap.length === 0) return top
    // Sift the last event down from the root.
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      let m = -1
      let best = last
      if (l < heap.length && before(heap[l] as SimEvent, best)) {
        m = l
        best = heap[l] as SimEvent
      }
      if (l + 1 < heap.length && before(heap[l + 1] as SimEvent, best)) {
        m = l + 1
        best = heap[l + 1] as SimEvent
      }
      if (m < 0) break
      heap[i] = best
      i = m
    }
    heap[i] = last
    return top
  }

  /** Runs events until `until` (absolute sim time). */
  runUntil(until: number): void {
    for (;;) {
      const next = this.heap[0]
      if (next === undefined || next.at > until) break
      this.pop()
      this.now = next.at
      next.fn()
    }
    this.now = until
  }

  runFor(ms: number): void {
    this.runUntil(this.now + ms)
  }

  /** Runs until `pred()` holds (checked every `stepMs`) or `maxMs` passed; returns the time it took, or undefined. */
  runUntilTrue(pred: () => boolean, maxMs: number, stepMs = 10): number | undefined {
    const start = this.now
    for (;;) {
      if (pred()) return this.now - start
      if (this.now - start >= maxMs) return undefined
      this.runFor(stepMs)
    }
  }

  // ---- nodes ---------------------------------------------------------------------

  private config(n: SimNode): CoreConfig {
    return { id: n.id, priority: n.priority, mode: this.mode, manualOnly: this.manualOnly, ...this.timing, ...(this.roster !== undefined ? { roster: this.roster } : {}) }
  }

  private boot(n: SimNode): void {
    n.alive = true
    n.exiting = undefined
    n.core = new ElectionCore(this.config(n), n.stored !== undefined ? structuredClone(n.stored) : undefined)
    this.step(n, { type: 'start' })
    for (const p of this.pairsOf(n.id)) this.reconsider(p, this.detect)
  }

  /** Kill -9: state in memory is gone, the store stays. Peers notice after the detection delay. */
  crash(id: string): void {
    const n = this.node(id)
    if (!n.alive) return
    this.tr(`crash ${short(id)}`)
    this.halt(n)
    for (const p of this.pairsOf(id)) this.reconsider(p, this.detect)
  }

  restart(id: string): void {
    const n = this.node(id)
    if (n.alive) return
    this.tr(`restart ${short(id)}`)
    this.boot(n)
  }

  /** Graceful stop: hand over (if leading), wait for the successor's claim (bounded), close connections with a goodbye. */
  stop(id: string): void {
    const n = this.node(id)
    if (!n.alive || n.exiting !== undefined || n.core === undefined) return
    this.tr(`stop ${short(id)}`)
    const before = n.core.currentTerm
    const handing = n.core.view.role === 'leader'
    this.step(n, { type: 'shutdown' })
    const handedOver = handing && n.core.diagnostics().leaderless?.preferred !== undefined
    n.exiting = { before }
    if (!handedOver) return this.exit(n)
    this.at(this.now + this.stopHandoverMs, () => {
      if (n.exiting !== undefined && n.alive) this.exit(n)
    })
  }

  private exit(n: SimNode): void {
    const closing = [...this.pairsOf(n.id)].filter((p) => p.state === 'up')
    this.halt(n)
    for (const p of this.pairsOf(n.id)) {
      if (closing.includes(p)) {
        // Goodbye: what was sent arrives first, then the close.
        p.state = 'closing'
        const last = Math.max(this.now, p.lastAt.get(p.a) ?? 0, p.lastAt.get(p.b) ?? 0)
        const gen = p.gen
        this.at(last + this.rng.between(1, 5), () => {
          if (p.state !== 'closing' || p.gen !== gen) return
          p.state = 'down'
          p.gen++
          for (const x of [p.a, p.b]) this.notifyDown(this.node(x), x === p.a ? p.b : p.a, gen)
          this.reconsider(p, this.detect)
        })
      } else {
        this.reconsider(p, this.detect)
      }
    }
  }

  private halt(n: SimNode): void {
    n.alive = false
    n.hung = false
    n.core = undefined
    n.exiting = undefined
    n.timers.clear()
    n.view.clear()
    for (const r of n.requests.values()) if (r.result === undefined) r.lost = true
  }

  node(id: string): SimNode {
    const n = this.byId.get(id)
    if (n === undefined) throw new Error(`no node ${id}`)
    return n
  }

  // ---- network --------------------------------------------------------------------

  /** Splits the devices into groups that cannot reach each other. */
  partition(groups: string[][]): void {
    const group = new Map<string, number>()
    groups.forEach((g, i) => g.forEach((id) => group.set(id, i)))
    this.tr(`partition ${groups.map((g) => g.map(short).join(',')).join(' | ')}`)
    for (const p of this.pairs.values()) {
      p.cut = group.get(p.a) !== group.get(p.b)
      this.reconsider(p, this.detect)
    }
  }

  heal(): void {
    this.tr('heal')
    for (const p of this.pairs.values()) {
      p.cut = false
      this.reconsider(p, this.detect)
    }
  }

  cut(a: string, b: string, cut: boolean): void {
    const p = this.pair(a, b)
    p.cut = cut
    this.tr(`${cut ? 'cut' : 'link'} ${short(a)}-${short(b)}`)
    this.reconsider(p, this.detect)
  }

  /** Whether two devices can reach each other (both alive, link not cut). */
  reachable(a: string, b: string): boolean {
    return this.node(a).alive && this.node(b).alive && !this.pair(a, b).cut
  }

  /** Connected components of live devices by reachability. */
  components(): string[][] {
    const alive = this.nodes.filter((n) => n.alive).map((n) => n.id)
    const seen = new Set<string>()
    const out: string[][] = []
    for (const start of alive) {
      if (seen.has(start)) continue
      const comp: string[] = []
      const stack = [start]
      seen.add(start)
      while (stack.length > 0) {
        const x = stack.pop() as string
        comp.push(x)
        for (const y of alive) {
          if (!seen.has(y) && this.reachable(x, y)) {
            seen.add(y)
            stack.push(y)
          }
        }
      }
      out.push(comp.sort())
    }
    return out
  }

  /**
   * Whether connections match reachability: every reachable pair has an
   * established connection known to both sides, and no device still believes
   * in a connection that died.
   */
  networkSettled(): boolean {
    for (const p of this.pairs.values()) {
      const a = this.node(p.a)
      const b = this.node(p.b)
      if (!this.reachable(p.a, p.b)) {
        if (a.view.has(p.b) || b.view.has(p.a)) return false
        continue
      }
      if (p.state !== 'up' || a.view.get(p.b) !== p.gen || b.view.get(p.a) !== p.gen) return false
    }
    return true
  }

  private pair(a: string, b: string): Pair {
    const p = this.pairs.get(a < b ? `${a}|${b}` : `${b}|${a}`)
    if (p === undefined) throw new Error(`no pair ${a} ${b}`)
    return p
  }

  private *pairsOf(id: string): Iterable<Pair> {
    for (const p of this.pairs.values()) if (p.a === id || p.b === id) yield p
  }

  private reconsider(p: Pair, detect: [number, number]): void {
    const possible = this.reachable(p.a, p.b)
    if (possible && p.state === 'down') {
      p.state = 'connecting'
      const gen = ++p.gen
      this.at(this.now + this.rng.between(...this.connectDelay), () => this.establish(p, gen))
    } else if (!possible && p.state === 'connecting') {
      p.state = 'down'
      p.gen++
    } else if (!possible && p.state === 'up') {
      p.state = 'down'
      const gen = p.gen
      p.gen++
      for (const x of [p.a, p.b]) {
        const n = this.node(x)
        if (!n.alive) continue
        this.at(this.now + this.rng.between(...detect), () => this.notifyDown(n, x === p.a ? p.b : p.a, gen))
      }
    }
  }

  private notifyDown(n: SimNode, peer: string, gen: number): void {
    if (!n.alive || n.view.get(peer) !== gen) return
    n.view.delete(peer)
    this.step(n, { type: 'peer-down', peer })
  }

  private establish(p: Pair, gen: number): void {
    if (p.gen !== gen || p.state !== 'connecting' || !this.reachable(p.a, p.b)) return
    p.state = 'up'
    p.lastAt.clear()
    const a = this.node(p.a)
    const b = this.node(p.b)
    const helloOf = (n: SimNode): Uint8Array | undefined => {
      const h = n.core?.hello()
      return h === undefined ? undefined : encodeHello(h.claim !== undefined ? { ...h, claim: this.signed(n.id, h.claim) } : h)
    }
    const hellos = new Map([
      [a.id, helloOf(a)],
      [b.id, helloOf(b)],
    ])
    for (const [x, y] of this.rng.shuffle([
      [a, b],
      [b, a],
    ] as const)) {
      if (!x.alive || p.gen !== gen || p.state !== 'up') continue
      x.view.set(y.id, gen)
      const bytes = hellos.get(y.id)
      const hello = bytes !== undefined ? decodeHello(bytes) : undefined
      if (hello?.claim !== undefined && !this.verify(hello.claim)) delete hello.claim
      this.step(x, { type: 'peer-up', peer: y.id, ...(hello !== undefined ? { hello } : {}) })
    }
  }

  private transmit(from: SimNode, to: string, message: ElectionMessage): void {
    const gen = from.view.get(to)
    if (gen === undefined) return // the transport drops sends to peers it does not know
    const p = this.pair(from.id, to)
    if (p.gen !== gen || (p.state !== 'up' && p.state !== 'closing')) return // died undetected: lost
    if (this.loss > 0 && this.rng.chance(this.loss)) return
    const bytes = encodeMessage(message.kind === 'claim' ? { ...message, claim: this.signed(from.id, message.claim) } : message)
    let delay = this.rng.between(...this.latency)
    if (this.spike > 0 && this.rng.chance(this.spike)) delay += this.rng.between(10, 300)
    const at = Math.max(this.now + delay, p.lastAt.get(from.id) ?? 0)
    p.lastAt.set(from.id, at)
    this.at(at, () => {
      const target = this.node(to)
      if (p.gen !== gen || !target.alive || target.view.get(from.id) !== gen) return
      this.deliver(target, from.id, bytes)
    })
  }

  /** Delivers raw bytes as the driver would: decode, verify claims, step. */
  deliver(target: SimNode, from: string, bytes: Uint8Array): void {
    let message: ElectionMessage
    try {
      message = decodeMessage(bytes)
    } catch (err) {
      this.violations.push(`t=${this.now.toFixed(1)} ${short(target.id)} could not decode a message from ${short(from)}: ${(err as Error).message}`)
      return
    }
    if (message.kind === 'claim' && !this.verify(message.claim)) {
      this.rejectedClaims++
      return
    }
    this.step(target, { type: 'message', from, message })
  }

  signed(id: string, claim: Claim): Claim {
    if (claim.leader !== id || claim.signature !== undefined) return claim
    return { ...claim, signature: fakeSigner(id).sign(claimSigningBytes('sim', claim.term, claim.leader)) }
  }

  verify(claim: Claim): boolean {
    return claim.signature !== undefined && fakeVerifier.verify(claim.leader, claimSigningBytes('sim', claim.term, claim.leader), claim.signature, claim.proof)
  }

  // ---- requests --------------------------------------------------------------------

  becomeLeader(id: string, timeoutMs = 2000): SimRequest {
    return this.request(id, 'takeover', timeoutMs)
  }

  stepDown(id: string, timeoutMs = 2000): SimRequest {
    return this.request(id, 'step-down', timeoutMs)
  }

  private request(id: string, kind: SimRequest['kind'], timeoutMs: number): SimRequest {
    const n = this.node(id)
    const req: SimRequest = { node: id, kind, issuedAt: this.now }
    const request = this.nextRequest++
    n.requests.set(request, req)
    this.tr(`${kind} ${short(id)}`)
    if (!n.alive) {
      req.lost = true
      return req
    }
    this.step(n, kind === 'takeover' ? { type: 'become-leader', request, deadline: this.now + timeoutMs } : { type: 'step-down', request, deadline: this.now + timeoutMs })
    return req
  }

  // ---- stepping and invariants ---------------------------------------------------------

  step(n: SimNode, input: CoreInput): void {
    const core = n.core
    if (core === undefined || !n.alive || n.hung) return
    if (this.tracing) this.tr(`${short(n.id)} <- ${describeInput(input)}`)
    const outputs = core.step(input, this.now)
    this.apply(n, core, outputs)
    if (n.exiting !== undefined && core.currentTerm > n.exiting.before) this.exit(n)
  }

  private apply(n: SimNode, core: ElectionCore, outputs: CoreOutput[]): void {
    for (const o of outputs) {
      if (this.tracing && o.type !== 'set-timer' && o.type !== 'cancel-timer') this.tr(`${short(n.id)} -> ${describeOutput(o)}`)
      switch (o.type) {
        case 'persist':
          this.checkVote(n, o.state)
          n.stored = structuredClone(o.state)
          break
        case 'send':
          if (n.core === core) this.transmit(n, o.to, o.message)
          break
        case 'set-timer': {
          const seq = this.at(o.at, () => {
            if (n.timers.get(o.name) !== seq || n.core !== core) return
            n.timers.delete(o.name)
            this.step(n, { type: 'timer', name: o.name })
          })
          n.timers.set(o.name, seq)
          break
        }
        case 'cancel-timer':
          n.timers.delete(o.name)
          break
        case 'view':
          this.onView(n, o.view)
          break
        case 'settle': {
          const req = n.requests.get(o.request)
          if (req !== undefined) {
            req.result = o.result
            req.settledAt = this.now
          }
          break
        }
        case 'term':
        case 'leader-lost':
          break
      }
    }
  }

  /** A device never accepts two leaders in one term, and its term never goes back (across restarts too). */
  private checkVote(n: SimNode, next: ElectionState): void {
    const prev = n.stored
    if (next.vote?.leader === n.id && next.vote.term !== prev?.vote?.term) n.claims++
    if (prev === undefined) return
    if (next.term < prev.term) this.violate(`${short(n.id)} term went back ${prev.term} -> ${next.term}`)
    if (next.term === prev.term && prev.vote !== undefined && next.vote?.leader !== prev.vote.leader) {
      this.violate(`${short(n.id)} changed its vote within term ${next.term}: ${short(prev.vote.leader)} -> ${next.vote !== undefined ? short(next.vote.leader) : 'none'}`)
    }
  }

  private onView(n: SimNode, view: LeaderView): void {
    this.viewChanges++
    this.lastViewChangeAt = this.now
    if (view.role === 'leader') {
      let set = this.completed.get(view.term)
      if (set === undefined) {
        set = new Set()
        this.completed.set(view.term, set)
      }
      set.add(n.id)
      if (this.mode === 'quorum' && set.size > 1) this.violate(`quorum: two leaders in term ${view.term}: ${[...set].map(short).join(', ')}`)
      const peers = new Map((n.core?.diagnostics().peers ?? []).map((p) => [p.id, p]))
      for (const other of this.nodes) {
        if (other === n || !other.alive || other.leader.role !== 'leader' || other.leader.term !== view.term) continue
        const p = peers.get(other.id)
        if (p?.connected === true && !p.suspect) this.violate(`${short(n.id)} became leader of term ${view.term} while connected to ${short(other.id)}, leader of the same term`)
      }
      if (this.mode === 'quorum') this.checkMajorities()
    } else if (view.role === 'follower' && view.id !== undefined) {
      if (this.completed.get(view.term)?.has(view.id) !== true) this.violate(`${short(n.id)} follows ${short(view.id)} in term ${view.term}, which never led it`)
    }
  }

  /** Quorum mode: at no moment do two leaders each hold the votes of a majority. */
  private checkMajorities(): void {
    const needed = majorityOf(this.nodes.length)
    const backed = this.nodes.filter((l) => {
      if (!l.alive || l.leader.role !== 'leader') return false
      const votes = this.nodes.filter((x) => x.stored?.term === l.leader.term && x.stored.vote?.leader === l.id).length
      return votes >= needed
    })
    if (backed.length > 1) this.violate(`quorum: ${backed.map((l) => short(l.id)).join(', ')} each hold a majority at once`)
  }

  violate(text: string): void {
    this.violations.push(`t=${this.now.toFixed(1)} ${text}`)
  }

  // ---- observations -----------------------------------------------------------------------

  /**
   * Every component agrees on exactly one leader (availability), or on none in
   * a minority (quorum), or on at most one (manual-only). Undefined when it
   * holds, else what is wrong.
   */
  disagreement(): string | undefined {
    if (!this.networkSettled()) return 'connections not settled'
    for (const comp of this.components()) {
      const views = comp.map((id) => this.node(id).leader)
      if (views.some((v) => v.role === 'candidate')) return `a claim is still open: ${comp.map((id) => `${short(id)}:${fmtView(this.node(id).leader)}`).join(' ')}`
      const leaders = comp.filter((id) => this.node(id).leader.role === 'leader')
      const quorate = this.mode === 'availability' || comp.length >= majorityOf(this.roster?.length ?? this.nodes.length)
      const describe = (): string => comp.map((id) => `${short(id)}:${fmtView(this.node(id).leader)}`).join(' ')
      if (!quorate) {
        if (views.some((v) => v.id !== undefined)) return `minority component reports a leader: ${describe()}`
        continue
      }
      if (leaders.length > 1) return `several leaders: ${describe()}`
      if (leaders.length === 0) {
        if (this.manualOnly && views.every((v) => v.id === undefined && v.role === 'none')) continue
        return `no leader: ${describe()}`
      }
      const leader = this.node(leaders[0] as string).leader
      if (!views.every((v) => v.id === leader.id && v.term === leader.term)) return `no agreement: ${describe()}`
    }
    return undefined
  }

  tr(text: string): void {
    if (!this.tracing) return
    this.trace.push(`${this.now.toFixed(2).padStart(9)} ${text}`)
    if (this.trace.length > 4000) this.trace.splice(0, 1000)
  }
}

function before(x: SimEvent, y: SimEvent): boolean {
  return x.at < y.at || (x.at === y.at && x.seq < y.seq)
}
