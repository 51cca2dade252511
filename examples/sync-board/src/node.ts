/**
 * One device of the board: the mesh wiring around the pure logic of board.ts.
 *
 * - Changes go to the leader (`board:change` request); the leader applies
 *   them in order, bumps the version and broadcasts the op on `board` stamped
 *   with its term (`asLeader`). Followers apply only current-term messages
 *   with the next version; a gap or a new term makes them ask the leader for
 *   its state (`board:state`).
 * - A new leader first collects its peers' boards and continues from the
 *   latest (its own, normally: it had every broadcast), then broadcasts it.
 * - Every device broadcasts its connections and message rates on `topology`
 *   once a second, for the page's drawing and so followers notice when they
 *   fell behind the leader's version.
 */
import type { LeaderView, Mesh, MeshPeer } from '@meshkit/mesh'
import { applyOp, emptyBoard, latest, newer, parseBoard, parseOp, receive, takeOver, type Board, type BoardMessage, type Op } from './board.js'
import { buildTopology, parseReport, type PeerRate, type Topology, type TopologyReport } from './topology.js'

export const CHANNELS = { board: 'board', change: 'board-change', state: 'board-state', topology: 'topology' } as const
const REQUEST_TIMEOUT_MS = 3_000
const COLLECT_TIMEOUT_MS = 1_000
const REPORT_EVERY_MS = 1_000

/** A change that could not be made: `unavailable` (no leader, leader unreachable: retry) or `rejected` (the change itself is wrong). */
export class ChangeError extends Error {
  override readonly name = 'ChangeError'
  constructor(
    readonly code: 'unavailable' | 'rejected' | 'invalid',
    message: string,
  ) {
    super(message)
  }
}

type ChangeAnswer = { ok: true; version: number } | { ok: false; error: string }

export interface NodeView {
  id: string
  leader: LeaderView
  board: Board
  topology: Topology
  /** The leader is still collecting its peers' boards (changes wait). */
  syncing: boolean
}

export class BoardNode {
  private board: Board = emptyBoard()
  private readonly reports = new Map<string, TopologyReport>()
  private readyPeers: string[] = []
  private rates: PeerRate[] = []
  private lastCounts = new Map<string, { sent: number; received: number; at: number }>()
  private syncing: Promise<void> | undefined
  private resyncing = false
  private timer: ReturnType<typeof setInterval> | undefined
  private readonly listeners = new Set<() => void>()
  private readonly subscriptions: Array<{ unsubscribe: () => void }> = []
  private readonly unresponders: Array<() => void> = []
  /** Messages dropped as stale, for the log and tests. */
  dropped = 0

  constructor(
    readonly mesh: Mesh,
    private readonly log: (line: string) => void = () => {},
  ) {}

  start(): void {
    const mesh = this.mesh
    this.subscriptions.push(
      mesh.messages$(CHANNELS.board).subscribe((m) => this.onBoardMessage(m.payload as BoardMessage, m.term, m.from)),
      mesh.messages$(CHANNELS.topology).subscribe((m) => {
        const r = parseReport(m.payload)
        if (r === undefined || r.id !== m.from) return
        this.reports.set(r.id, r)
        this.checkBehind(r)
        this.changed()
      }),
      mesh.peers$.subscribe((peers) => this.onPeers(peers)),
      mesh.leader$.subscribe((view) => this.onLeader(view)),
    )
    this.unresponders.push(
      mesh.respond(CHANNELS.change, async (payload) => this.onChangeRequest(payload)),
      mesh.respond(CHANNELS.state, () => this.board),
    )
    this.timer = setInterval(() => this.tick(), REPORT_EVERY_MS)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
    for (const s of this.subscriptions.splice(0)) s.unsubscribe()
    for (const u of this.unresponders.splice(0)) u()
  }

  /** Called on every change of what the page shows. */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  private changed(): void {
    for (const fn of this.listeners) fn()
  }

  view(): NodeView {
    return { id: this.mesh.id, leader: this.mesh.leader, board: this.board, topology: this.topology(), syncing: this.syncing !== undefined }
  }

  topology(): Topology {
    return buildTopology(this.ownReport(), this.reports, this.mesh.leader.id)
  }

  private ownReport(): TopologyReport {
    const ready = new Set(this.readyPeers)
    const rates = new Map(this.rates.map((r) => [r.id, r]))
    return {
      id: this.mesh.id,
      peers: [...ready].map((id) => rates.get(id) ?? { id, in: 0, out: 0 }),
      board: { term: this.board.term, version: this.board.version },
      leader: { id: this.mesh.leader.id, term: this.mesh.leader.term },
    }
  }

  // ---- changes ----------------------------------------------------------------

  /** Makes a change (from this device's page): applied here if this device leads, else asked of the leader. */
  async submit(input: unknown): Promise<{ version: number }> {
    const op = parseOp(input)
    if (typeof op === 'string') throw new ChangeError('invalid', op)
    const leader = this.mesh.leader
    if (leader.role === 'leader') return this.answer(await this.applyAsLeader(op))
    if (leader.role !== 'follower' || leader.id === undefined) {
      throw new ChangeError('unavailable', leader.role === 'candidate' ? 'a leader election is under way: retry in a moment' : 'no leader right now (election in progress): retry in a moment')
    }
    let answer: ChangeAnswer
    try {
      answer = await this.mesh.request<ChangeAnswer>(leader.id, CHANNELS.change, op, { timeoutMs: REQUEST_TIMEOUT_MS })
    } catch (err) {
      this.log(`change ${op.type} ${op.id} to the leader ${short(leader.id)} (term ${leader.term}) failed: ${(err as Error).message}`)
      throw new ChangeError('unavailable', `the leader ${short(leader.id)} did not take the change (${(err as Error).message}): retry`)
    }
    this.log(`change ${op.type} ${op.id} to the leader ${short(leader.id)} (term ${leader.term}): ${answer.ok ? `v${answer.version}` : answer.error}`)
    return this.answer(answer)
  }

  private answer(a: ChangeAnswer): { version: number } {
    if (!a.ok) throw new ChangeError('rejected', a.error)
    return { version: a.version }
  }

  private async onChangeRequest(payload: unknown): Promise<ChangeAnswer> {
    const op = parseOp(payload)
    if (typeof op === 'string') return { ok: false, error: op }
    if (this.mesh.leader.role !== 'leader') throw new Error('this device no longer leads')
    return this.applyAsLeader(op)
  }

  private async applyAsLeader(op: Op): Promise<ChangeAnswer> {
    await this.syncing
    const term = this.mesh.leader.term
    if (this.mesh.leader.role !== 'leader' || this.board.term !== term) throw new ChangeError('unavailable', 'this device no longer leads: retry')
    const r = applyOp(this.board, op)
    if (!r.ok) return { ok: false, error: r.error }
    if (!r.changed) return { ok: true, version: this.board.version }
    this.board = r.board
    this.changed()
    this.send({ kind: 'op', version: r.board.version, op })
    return { ok: true, version: r.board.version }
  }

  private send(message: BoardMessage): void {
    this.mesh.broadcast(CHANNELS.board, message, { asLeader: true }).then(
      (report) => {
        for (const f of report.failed) this.log(`broadcast v${message.version} to ${short(f.peerId)} failed: ${f.error.message}`)
      },
      (err: unknown) => this.log(`broadcast v${message.version} failed: ${(err as Error).message}`),
    )
  }

  // ---- following -------------------------------------------------------------

  private onBoardMessage(message: BoardMessage, term: number | undefined, from: string): void {
    if (this.mesh.leader.role === 'leader' && from !== this.mesh.leader.id) {
      // a deposed leader's late message; the leader's own board is authoritative
      if (term === undefined || !this.mesh.acceptsTerm(term, from) || term <= this.mesh.leader.term) {
        this.dropped++
        return
      }
    }
    const r = receive(this.board, message, term, from, (t, f) => this.mesh.acceptsTerm(t, f))
    switch (r.action) {
      case 'apply':
        this.board = r.board
        this.changed()
        return
      case 'ignore':
        this.dropped++
        this.log(`dropped a board message from ${short(from)}: ${r.reason}`)
        return
      case 'resync':
        this.log(`resync from ${short(from)}: ${r.reason}`)
        void this.resync()
        return
    }
  }

  /** Fetches the leader's board (late join, gaps, new term). One at a time. */
  private async resync(): Promise<void> {
    const leader = this.mesh.leader
    if (this.resyncing || leader.role !== 'follower' || leader.id === undefined) return
    this.resyncing = true
    try {
      const b = parseBoard(await this.mesh.request(leader.id, CHANNELS.state, null, { timeoutMs: REQUEST_TIMEOUT_MS }))
      // the leader's board carries its term once it finished taking over
      if (b !== undefined && this.mesh.acceptsTerm(b.term, leader.id) && b.term === this.mesh.leader.term && !newer(this.board, b)) {
        this.board = b
        this.changed()
      }
    } catch (err) {
      this.log(`resync from ${short(leader.id)} failed: ${(err as Error).message}`)
    } finally {
      this.resyncing = false
    }
  }

  /** The leader's report shows a board this follower does not have: fetch it. */
  private checkBehind(r: TopologyReport): void {
    const leader = this.mesh.leader
    if (leader.role !== 'follower' || r.id !== leader.id || r.board.term !== leader.term) return
    if (newer(r.board, this.board)) void this.resync()
  }

  private onLeader(view: LeaderView): void {
    this.changed()
    if (view.role === 'leader') {
      if (this.board.term === view.term) return
      const sync = this.takeOver(view.term).finally(() => {
        if (this.syncing === sync) this.syncing = undefined
        this.changed()
      })
      this.syncing = sync
    }
    // a follower waits for the new leader's snapshot; the leader's topology report catches a lost one
  }

  /** Leads `term`: continues from the latest board among its own and its peers', and broadcasts it. */
  private async takeOver(term: number): Promise<void> {
    const peers = this.mesh.peers().filter((p) => p.state === 'ready').map((p) => p.id)
    const boards = await Promise.all(
      peers.map(async (id) => {
        try {
          return parseBoard(await this.mesh.request(id, CHANNELS.state, null, { timeoutMs: COLLECT_TIMEOUT_MS }))
        } catch {
          return undefined
        }
      }),
    )
    const view = this.mesh.leader
    if (view.role !== 'leader' || view.term !== term) return
    const base = latest([this.board, ...boards.filter((b): b is Board => b !== undefined)])
    if (base !== this.board) this.log(`took over a peer's newer board (term ${base.term} v${base.version})`)
    this.board = takeOver(base, term)
    this.changed()
    this.send({ kind: 'snapshot', version: this.board.version, items: this.board.items })
  }

  // ---- topology ----------------------------------------------------------------

  private onPeers(peers: ReadonlyMap<string, MeshPeer>): void {
    const ready = [...peers.values()].filter((p) => p.state === 'ready').map((p) => p.id)
    if (ready.join() === this.readyPeers.join()) return
    this.readyPeers = ready
    for (const id of this.reports.keys()) if (!ready.includes(id)) this.reports.delete(id)
    this.changed()
  }

  private tick(): void {
    const now = Date.now()
    const next = new Map<string, { sent: number; received: number; at: number }>()
    this.rates = this.mesh.stats().map((s) => {
      const prev = this.lastCounts.get(s.peerId)
      next.set(s.peerId, { sent: s.messagesSent, received: s.messagesReceived, at: now })
      const secs = prev === undefined ? 0 : (now - prev.at) / 1000
      const rate = (a: number, b: number): number => (secs > 0 ? Math.max(0, a - b) / secs : 0)
      return {
        id: s.peerId,
        out: rate(s.messagesSent, prev?.sent ?? 0),
        in: rate(s.messagesReceived, prev?.received ?? 0),
        ...(s.rttMs !== undefined ? { rttMs: Math.round(s.rttMs * 10) / 10 } : {}),
      }
    })
    this.lastCounts = next
    if (this.readyPeers.length > 0) {
      this.mesh.broadcast(CHANNELS.topology, this.ownReport()).catch(() => {})
    }
    this.changed()
  }
}

export const short = (id: string): string => id.slice(0, 8)
