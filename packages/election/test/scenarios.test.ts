/**
 * The state machine's behaviour in named scenarios, over the simulated network
 * (simulated time, fixed seeds): formation, takeover, failover, handover,
 * partitions and merges, quorum mode, joins, restarts, forged claims.
 */
import { describe, expect, it } from 'vitest'
import { encodeMessage, successorOrder } from '../src/index.js'
import { fmtView, Sim, type SimInit, type SimNode } from './support/sim.js'

function sim(init: Partial<SimInit> & Pick<SimInit, 'nodes'>): Sim {
  return new Sim({ seed: 1, ...init })
}

/** Runs until every component agrees (see `disagreement`); fails with the state if it does not within `maxMs`. */
function converge(s: Sim, maxMs = 10_000): number {
  const took = s.runUntilTrue(() => s.disagreement() === undefined, maxMs)
  expect(s.violations).toEqual([])
  if (took === undefined) throw new Error(`no convergence within ${maxMs} ms: ${s.disagreement()}`)
  return took
}

function leaderOf(s: Sim, ids = s.nodes.filter((n) => n.alive).map((n) => n.id)): string | undefined {
  const leaders = ids.filter((id) => s.node(id).leader.role === 'leader')
  expect(leaders.length).toBeLessThanOrEqual(1)
  return leaders[0]
}

function expectedSuccessor(s: Sim, among: string[]): string {
  return successorOrder(among.map((id) => ({ id, priority: s.node(id).priority })))[0]?.id as string
}

const totalClaims = (s: Sim): number => s.nodes.reduce((n, x) => n + x.claims, 0)

describe('formation', () => {
  it('a single device elects itself after the quiet period', () => {
    const s = sim({ nodes: 1 })
    s.runFor(499)
    expect(s.nodes[0]?.leader.role).toBe('none')
    s.runFor(10)
    expect(s.nodes[0]?.leader).toEqual({ id: s.nodes[0]?.id, term: 1, role: 'leader' })
  })

  it('devices booting together elect the highest priority with exactly one claim', () => {
    const s = sim({ nodes: [0, 2, 1, 2, 0] })
    converge(s)
    expect(leaderOf(s)).toBe(expectedSuccessor(s, s.nodes.map((n) => n.id)))
    expect(s.node(leaderOf(s) as string).priority).toBe(2)
    expect(totalClaims(s)).toBe(1)
    expect(s.nodes.every((n) => n.leader.term === 1)).toBe(true)
  })

  it('manual-only: a leaderless mesh stays leaderless until becomeLeader()', () => {
    const s = sim({ nodes: 3, manualOnly: true })
    s.runFor(10_000)
    expect(s.nodes.every((n) => n.leader.role === 'none')).toBe(true)
    const x = s.nodes[2]?.id as string
    const req = s.becomeLeader(x)
    s.runFor(50)
    expect(req.result?.ok).toBe(true)
    expect(s.nodes.every((n) => n.leader.id === x)).toBe(true)
  })

  it('a joining device learns leader and term from the hello, without any claim', () => {
    const s = sim({ nodes: 4 })
    const late = s.nodes[3]?.id as string
    s.crash(late)
    converge(s)
    const leader = leaderOf(s)
    const claims = totalClaims(s)
    s.restart(late)
    converge(s)
    expect(leaderOf(s)).toBe(leader)
    expect(totalClaims(s)).toBe(claims)
    expect(s.node(late).leader).toEqual({ id: leader, term: 1, role: 'follower' })
  })
})

describe('manual takeover', () => {
  it('resolves once every connected peer acknowledged; everyone follows the new term', () => {
    const s = sim({ nodes: 5 })
    converge(s)
    const x = s.nodes.find((n) => n.leader.role === 'follower')?.id as string
    const req = s.becomeLeader(x)
    s.runFor(20)
    expect(req.result).toEqual({ ok: true, view: { id: x, term: 2, role: 'leader' } })
    expect(s.nodes.map((n) => n.leader)).toEqual(s.nodes.map(() => ({ id: x, term: 2, role: expect.any(String) })))
    expect(s.violations).toEqual([])
  })

  it('on the leader itself resolves at once without a new term', () => {
    const s = sim({ nodes: 3 })
    converge(s)
    const leader = leaderOf(s) as string
    const req = s.becomeLeader(leader)
    expect(req.result).toEqual({ ok: true, view: { id: leader, term: 1, role: 'leader' } })
  })

  it('two simultaneous takeovers: the smaller id wins, the other is superseded, one leader per term', () => {
    const s = sim({ nodes: 5 })
    converge(s)
    const [a, b] = s.nodes.filter((n) => n.leader.role === 'follower').map((n) => n.id)
    const ra = s.becomeLeader(a as string)
    const rb = s.becomeLeader(b as string)
    converge(s, 100)
    s.runFor(10)
    const [winner, loser] = (a as string) < (b as string) ? [ra, rb] : [rb, ra]
    expect(winner.result?.ok).toBe(true)
    expect(loser.result).toMatchObject({ ok: false, reason: 'superseded' })
    expect(leaderOf(s)).toBe(winner.node)
  })

  it('fails with a timeout naming the silent peer when a connected peer never answers', () => {
    const s = sim({ nodes: 3 })
    converge(s)
    const [x, hung] = s.nodes.filter((n) => n.leader.role === 'follower')
    ;(hung as (typeof s.nodes)[number]).hung = true
    const req = s.becomeLeader(x?.id as string, 300)
    s.runFor(301)
    expect(req.result).toMatchObject({ ok: false, reason: 'timeout', missing: [hung?.id] })
  })
})

describe('failover', () => {
  it('the leader of five crashes: the expected successor leads within the detection time, with one claim', () => {
    const s = sim({ nodes: [1, 0, 3, 2, 0] })
    converge(s)
    const leader = leaderOf(s) as string
    const survivors = s.nodes.map((n) => n.id).filter((id) => id !== leader)
    const claims = totalClaims(s)
    s.crash(leader)
    const took = converge(s)
    expect(leaderOf(s)).toBe(expectedSuccessor(s, survivors))
    expect(totalClaims(s)).toBe(claims + 1)
    expect(took).toBeLessThanOrEqual(1_050)
  })

  it('the leader and its successor crash together: the next one leads', () => {
    const s = sim({ nodes: [4, 3, 2, 1, 0] })
    converge(s)
    const [first, second, third] = s.nodes.map((n) => n.id)
    s.crash(first as string)
    s.crash(second as string)
    converge(s)
    expect(leaderOf(s)).toBe(third)
  })

  it('a hung leader (connections alive, heartbeats stopped) is replaced after the heartbeat timeout', () => {
    const s = sim({ nodes: [2, 1, 0] })
    converge(s)
    const [leader, successor] = s.nodes
    ;(leader as (typeof s.nodes)[number]).hung = true
    const took = s.runUntilTrue(() => s.nodes.slice(1).every((n) => n.leader.id === successor?.id), 3_000)
    expect(took).toBeDefined()
    expect(took).toBeLessThanOrEqual(1_100)
    expect(successor?.leader.role).toBe('leader')
    expect(s.violations).toEqual([])
  })

  it('a hung follower does not block the failover: it is waited for one heartbeat timeout, then left out', () => {
    const s = sim({ nodes: [3, 2, 1, 0] })
    converge(s)
    const [leader, successor, , hung] = s.nodes as [SimNode, SimNode, SimNode, SimNode]
    hung.hung = true
    s.crash(leader.id)
    const took = s.runUntilTrue(() => successor.leader.role === 'leader', 5_000)
    expect(took).toBeDefined()
    expect(took).toBeGreaterThan(s.timing.heartbeatTimeoutMs)
    // detection, then the claim's wait for the silent peer (one heartbeat timeout, checked every heartbeat interval)
    expect(took).toBeLessThanOrEqual(1_000 + s.timing.heartbeatTimeoutMs + s.timing.heartbeatIntervalMs + 10)
    s.runFor(10)
    expect(s.nodes[2]?.leader.id).toBe(successor.id)
    expect(successor.leader.term).toBe(2)
    expect(s.violations).toEqual([])
  })

  it('a leader that restarts before anyone noticed hands leadership to its successor, then follows it', () => {
    const s = sim({ nodes: [2, 1, 0] })
    converge(s)
    const [leader, successor] = s.nodes
    s.crash(leader?.id as string)
    s.restart(leader?.id as string)
    converge(s)
    expect(leaderOf(s)).toBe(successor?.id)
    expect(leader?.leader).toEqual({ id: successor?.id, term: 2, role: 'follower' })
  })
})

describe('handover', () => {
  it('stepDown() hands over to the successor with exactly one claim', () => {
    const s = sim({ nodes: [0, 5, 1, 3] })
    converge(s)
    const leader = leaderOf(s) as string
    const claims = totalClaims(s)
    const req = s.stepDown(leader)
    s.runFor(20)
    expect(req.result?.ok).toBe(true)
    converge(s, 20)
    expect(leaderOf(s)).toBe(expectedSuccessor(s, s.nodes.map((n) => n.id).filter((id) => id !== leader)))
    expect(totalClaims(s)).toBe(claims + 1)
  })

  it('stepDown() alone fails with no-successor and keeps leading', () => {
    const s = sim({ nodes: 1 })
    converge(s)
    const req = s.stepDown(s.nodes[0]?.id as string)
    expect(req.result).toMatchObject({ ok: false, reason: 'no-successor' })
    expect(s.nodes[0]?.leader.role).toBe('leader')
  })

  it('a graceful stop of the leader moves leadership within a few milliseconds', () => {
    const s = sim({ nodes: [3, 2, 1, 0] })
    converge(s)
    const leader = s.nodes[0]?.id as string
    s.stop(leader)
    const took = s.runUntilTrue(() => s.nodes.slice(1).every((n) => n.leader.id === s.nodes[1]?.id), 100, 0.5)
    expect(took).toBeDefined()
    expect(took).toBeLessThanOrEqual(10)
    expect(s.violations).toEqual([])
  })
})

describe('partitions', () => {
  it('availability: one leader per side, one leader overall after the heal', () => {
    const s = sim({ nodes: 5 })
    converge(s)
    const ids = s.nodes.map((n) => n.id)
    s.partition([ids.slice(0, 3), ids.slice(3)])
    converge(s)
    expect(leaderOf(s, ids.slice(0, 3))).toBeDefined()
    expect(leaderOf(s, ids.slice(3))).toBeDefined()
    s.heal()
    converge(s)
    const leader = s.node(leaderOf(s) as string).leader
    expect(s.nodes.every((n) => n.leader.id === leader.id && n.leader.term === leader.term)).toBe(true)
  })

  it('two sides that elected in the same term merge to the smaller id, through the next term', () => {
    const s = sim({ nodes: 4 })
    const ids = s.nodes.map((n) => n.id)
    s.partition([ids.slice(0, 2), ids.slice(2)])
    converge(s)
    const left = leaderOf(s, ids.slice(0, 2)) as string
    const right = leaderOf(s, ids.slice(2)) as string
    expect(s.node(left).leader.term).toBe(s.node(right).leader.term)
    s.heal()
    converge(s)
    expect(leaderOf(s)).toBe(left < right ? left : right)
    expect(s.nodes[0]?.leader.term).toBe(2)
  })

  it('quorum: only the majority side leads; the old leader in the minority resigns', () => {
    const s = sim({ nodes: [5, 4, 3, 2, 1], mode: 'quorum' })
    converge(s)
    const ids = s.nodes.map((n) => n.id)
    const oldLeader = ids[0] as string
    expect(leaderOf(s)).toBe(oldLeader)
    s.partition([[oldLeader, ids[1] as string], ids.slice(2)])
    converge(s)
    expect(s.node(oldLeader).leader.role).toBe('none')
    expect(leaderOf(s, ids.slice(2))).toBe(ids[2])
    s.heal()
    converge(s)
    expect(leaderOf(s)).toBe(ids[2])
  })

  it('quorum with two devices: no leader without both', () => {
    const s = sim({ nodes: 2, mode: 'quorum' })
    converge(s)
    const [a, b] = s.nodes.map((n) => n.id) as [string, string]
    s.cut(a, b, true)
    converge(s)
    expect(s.nodes.every((n) => n.leader.id === undefined)).toBe(true)
    const req = s.becomeLeader(a)
    expect(req.result).toMatchObject({ ok: false, reason: 'quorum-unavailable', reachable: 1, needed: 2 })
    s.cut(a, b, false)
    converge(s)
  })

  it('quorum with a learned roster: devices learn each other and elect with a majority', () => {
    const s = sim({ nodes: 3, mode: 'quorum', fixedRoster: false })
    converge(s)
    expect(s.nodes.every((n) => n.core?.diagnostics().roster.length === 3)).toBe(true)
    expect(s.nodes.every((n) => n.stored?.roster?.length === 3)).toBe(true)
  })
})

describe('two devices', () => {
  it('takeover, failover and rejoin', () => {
    const s = sim({ nodes: 2 })
    converge(s)
    const [a, b] = s.nodes.map((n) => n.id) as [string, string]
    const follower = leaderOf(s) === a ? b : a
    const req = s.becomeLeader(follower)
    s.runFor(10)
    expect(req.result?.ok).toBe(true)
    const other = follower === a ? b : a
    s.crash(follower)
    converge(s)
    expect(leaderOf(s)).toBe(other)
    s.restart(follower)
    converge(s)
    expect(leaderOf(s)).toBe(other)
    expect(s.node(follower).leader).toMatchObject({ id: other, role: 'follower' })
  })
})

describe('claims from peers', () => {
  it('forged and replayed claims change nothing', () => {
    const s = sim({ nodes: 3 })
    converge(s)
    const [x, y, z] = s.nodes as [SimNode, SimNode, SimNode]
    const before = s.nodes.map((n) => fmtView(n.leader))
    const claims = totalClaims(s)
    // A forgery: y "claims" a much higher term for z, without z's key.
    const forged = { term: 99, leader: z.id, signature: new Uint8Array(8).fill(7) }
    s.deliver(x, y.id, encodeMessage({ kind: 'claim', claim: forged, reply: false }))
    // A replay: the claim that elected the current leader, sent again by someone else.
    const leader = leaderOf(s) as string
    s.deliver(x, y.id, encodeMessage({ kind: 'claim', claim: s.signed(leader, { term: 1, leader }), reply: false }))
    s.runFor(2_000)
    expect(s.rejectedClaims).toBe(1)
    expect(s.nodes.map((n) => fmtView(n.leader))).toEqual(before)
    expect(totalClaims(s)).toBe(claims)
    expect(s.violations).toEqual([])
  })

  it('a device cut off during a takeover catches up from the hellos when it returns', () => {
    const s = sim({ nodes: 4 })
    converge(s)
    const [x, y] = s.nodes as [SimNode, SimNode]
    for (const n of s.nodes) if (n !== x) s.cut(x.id, n.id, true)
    s.runFor(1_100)
    const req = s.becomeLeader(y.id)
    s.runFor(50)
    expect(req.result?.ok).toBe(true)
    for (const n of s.nodes) if (n !== x) s.cut(x.id, n.id, false)
    converge(s)
    expect(leaderOf(s)).toBe(y.id)
    expect(x.leader).toEqual({ id: y.id, term: y.leader.term, role: 'follower' })
  })
})
