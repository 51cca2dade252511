/**
 * The state machine stepped by hand: exact outputs for single inputs, and
 * properties over random input sequences.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ElectionCore, type CoreConfig, type CoreInput, type CoreOutput, type ElectionMessage, type ElectionState, type PeerHello } from '../src/index.js'
import { DEFAULT_TIMING } from './support/sim.js'

const sig = new Uint8Array([1, 2, 3])
const config = (id = 'b', extra: Partial<CoreConfig> = {}): CoreConfig => ({ id, priority: 0, mode: 'availability', manualOnly: false, ...DEFAULT_TIMING, ...extra })
const claimMsg = (term: number, leader: string, extra: Partial<Extract<ElectionMessage, { kind: 'claim' }>> = {}): ElectionMessage => ({
  kind: 'claim',
  claim: { term, leader, signature: sig },
  reply: false,
  ...extra,
})
const sends = (out: CoreOutput[]): Array<{ to: string; message: ElectionMessage }> => out.flatMap((o) => (o.type === 'send' ? [{ to: o.to, message: o.message }] : []))
const hello = (term: number, leader: string | undefined, role: PeerHello['role']): PeerHello => ({
  version: 1,
  term,
  role,
  priority: 0,
  ...(leader !== undefined ? { claim: { term, leader, signature: sig } } : {}),
})

/** A core that follows `a` in term `term`, connected to a and c. */
function follower(term = 3): ElectionCore {
  const core = new ElectionCore(config('b'))
  core.step({ type: 'start' }, 0)
  core.step({ type: 'peer-up', peer: 'a', hello: hello(term, 'a', 'leader') }, 1)
  core.step({ type: 'peer-up', peer: 'c', hello: hello(term, 'a', 'follower') }, 2)
  expect(core.view).toEqual({ id: 'a', term, role: 'follower' })
  return core
}

describe('voting', () => {
  it('persists the vote before anything is sent, then acknowledges the claimant', () => {
    const core = follower(3)
    const out = core.step({ type: 'message', from: 'c', message: claimMsg(4, 'c') }, 10)
    expect(out[0]).toEqual({ type: 'persist', state: { term: 4, vote: { term: 4, leader: 'c', signature: sig } } })
    expect(sends(out)).toEqual([{ to: 'c', message: { kind: 'ack', term: 4, leader: 'c' } }])
  })

  it('does not report a claimant as leader until the claimant itself says it leads', () => {
    const core = follower(3)
    core.step({ type: 'message', from: 'c', message: claimMsg(4, 'c') }, 10)
    expect(core.view).toEqual({ id: undefined, term: 4, role: 'none' })
    core.step({ type: 'message', from: 'c', message: { kind: 'heartbeat', term: 4 } }, 11)
    expect(core.view).toEqual({ id: 'c', term: 4, role: 'follower' })
  })

  it('confirms at once on a claim marked leading sent by the leader itself, not when relayed', () => {
    const relayed = follower(3)
    relayed.step({ type: 'message', from: 'a', message: claimMsg(4, 'c', { leading: true }) }, 10)
    expect(relayed.view.role).toBe('none')
    const direct = follower(3)
    direct.step({ type: 'message', from: 'c', message: claimMsg(4, 'c', { leading: true }) }, 10)
    expect(direct.view).toEqual({ id: 'c', term: 4, role: 'follower' })
  })

  it('never accepts a second leader for its term: it answers with its own vote and tells its leader', () => {
    const core = follower(3)
    const out = core.step({ type: 'message', from: 'c', message: claimMsg(3, 'c') }, 10)
    expect(out.some((o) => o.type === 'persist')).toBe(false)
    expect(sends(out)).toEqual([
      { to: 'a', message: { kind: 'claim', claim: { term: 3, leader: 'c', signature: sig }, reply: true } },
      { to: 'c', message: { kind: 'claim', claim: { term: 3, leader: 'a', signature: sig }, reply: true } },
    ])
    expect(core.view).toEqual({ id: 'a', term: 3, role: 'follower' })
  })

  it('answers a stale claim with the current one, but never answers an answer', () => {
    const core = follower(3)
    const out = core.step({ type: 'message', from: 'c', message: claimMsg(2, 'c') }, 10)
    expect(sends(out)).toEqual([{ to: 'c', message: { kind: 'claim', claim: { term: 3, leader: 'a', signature: sig }, reply: true } }])
    expect(sends(core.step({ type: 'message', from: 'c', message: claimMsg(2, 'c', { reply: true }) }, 11))).toEqual([])
  })

  it('answers a deposed leader’s heartbeat with the current claim', () => {
    const core = follower(3)
    expect(sends(core.step({ type: 'message', from: 'c', message: { kind: 'heartbeat', term: 2 } }, 10))).toEqual([
      { to: 'c', message: { kind: 'claim', claim: { term: 3, leader: 'a', signature: sig }, reply: true } },
    ])
  })

  it('a late heartbeat from a leader that came back restarted does not revive it', () => {
    const core = follower(3)
    core.step({ type: 'peer-up', peer: 'a', hello: hello(3, 'a', 'none') }, 10) // a restarted: up again, no longer leading
    expect(core.view.role).toBe('none')
    core.step({ type: 'message', from: 'a', message: { kind: 'heartbeat', term: 3 } }, 11) // from its old session
    expect(core.view.role).toBe('none')
  })

  it('a leader given up for silence is followed again when its heartbeat turns up before anyone claimed', () => {
    const core = follower(3)
    core.step({ type: 'timer', name: 'leader-check' }, 1_001)
    expect(core.view.role).toBe('none')
    core.step({ type: 'message', from: 'a', message: { kind: 'heartbeat', term: 3 } }, 1_002)
    expect(core.view).toEqual({ id: 'a', term: 3, role: 'follower' })
  })

  it('marks its answer abandoned once it lost its leader', () => {
    const core = follower(3)
    core.step({ type: 'peer-down', peer: 'a' }, 10)
    const [answer] = sends(core.step({ type: 'message', from: 'c', message: claimMsg(3, 'c') }, 11))
    expect(answer).toMatchObject({ to: 'c', message: { kind: 'claim', reply: true, abandoned: true } })
  })
})

describe('claiming', () => {
  it('stops claiming at the largest term instead of overflowing it', () => {
    const core = new ElectionCore(config('b'), { term: 2 ** 48, vote: { term: 2 ** 48, leader: 'x', signature: sig } })
    core.step({ type: 'start' }, 0)
    const out = [...core.step({ type: 'timer', name: 'leader-check' }, 5_000), ...core.step({ type: 'timer', name: 'elect' }, 10_000)]
    expect(out.filter((o) => o.type === 'persist' || o.type === 'send')).toEqual([])
    expect(core.currentTerm).toBe(2 ** 48)
  })

  it('a lone device elects itself after the quiet period; a peer joining restarts the wait', () => {
    const core = new ElectionCore(config('b'))
    expect(core.step({ type: 'start' }, 0)).toContainEqual({ type: 'set-timer', name: 'elect', at: 500 })
    expect(core.step({ type: 'peer-up', peer: 'z' }, 300)).toContainEqual({ type: 'set-timer', name: 'elect', at: 800 })
    const out = core.step({ type: 'timer', name: 'elect' }, 800)
    expect(out[0]).toEqual({ type: 'persist', state: { term: 1, vote: { term: 1, leader: 'b' } } })
    expect(sends(out)).toEqual([{ to: 'z', message: { kind: 'claim', claim: { term: 1, leader: 'b' }, reply: false } }])
    expect(core.view.role).toBe('candidate')
    const done = core.step({ type: 'message', from: 'z', message: { kind: 'ack', term: 1, leader: 'b' } }, 801)
    expect(core.view).toEqual({ id: 'b', term: 1, role: 'leader' })
    expect(sends(done)).toEqual([{ to: 'z', message: { kind: 'heartbeat', term: 1 } }])
  })

  it('ranks: the second in line waits one successor timeout longer', () => {
    const core = new ElectionCore(config('b'))
    core.step({ type: 'start' }, 0)
    expect(core.step({ type: 'peer-up', peer: 'a', hello: { version: 1, term: 0, role: 'none', priority: 0 } }, 0)).toContainEqual({
      type: 'set-timer',
      name: 'elect',
      at: 500 + 500,
    })
  })

  it('manual-only: no election timer, ever', () => {
    const core = new ElectionCore(config('b', { manualOnly: true }))
    const out = [...core.step({ type: 'start' }, 0), ...core.step({ type: 'peer-up', peer: 'a' }, 1), ...core.step({ type: 'peer-down', peer: 'a' }, 2)]
    expect(out.filter((o) => o.type === 'set-timer')).toEqual([])
  })

  it('becomeLeader alone resolves at once with the next term; a cancelled request settles as aborted', () => {
    const core = new ElectionCore(config('b', { manualOnly: true }))
    core.step({ type: 'start' }, 0)
    expect(core.step({ type: 'become-leader', request: 1, deadline: 100 }, 0)).toContainEqual({ type: 'settle', request: 1, result: { ok: true, view: { id: 'b', term: 1, role: 'leader' } } })
    core.step({ type: 'peer-up', peer: 'a' }, 1)
    core.step({ type: 'message', from: 'a', message: claimMsg(2, 'a', { leading: true }) }, 2)
    core.step({ type: 'become-leader', request: 2, deadline: 100 }, 3)
    expect(core.step({ type: 'cancel', request: 2 }, 4)).toContainEqual({ type: 'settle', request: 2, result: { ok: false, reason: 'aborted', term: 3 } })
  })

  it('a graceful stop of the leader hands over to its successor and cancels every timer', () => {
    const core = new ElectionCore(config('a'))
    core.step({ type: 'start' }, 0)
    core.step({ type: 'become-leader', request: 1, deadline: 1000 }, 0)
    core.step({ type: 'peer-up', peer: 'c', hello: { version: 1, term: 1, role: 'follower', priority: 0, claim: { term: 1, leader: 'a', signature: sig } } }, 1)
    core.step({ type: 'peer-up', peer: 'b', hello: { version: 1, term: 1, role: 'follower', priority: 0, claim: { term: 1, leader: 'a', signature: sig } } }, 1)
    const out = core.step({ type: 'shutdown' }, 5)
    expect(sends(out).map((s) => s.message)).toEqual([
      { kind: 'handover', term: 1, successor: 'b' },
      { kind: 'handover', term: 1, successor: 'b' },
    ])
    expect(out.filter((o) => o.type === 'cancel-timer').map((o) => (o.type === 'cancel-timer' ? o.name : ''))).toContain('tick')
    expect(core.view.role).toBe('none')
    expect(core.step({ type: 'timer', name: 'elect' }, 10_000).filter((o) => o.type === 'send')).toEqual([])
  })
})

// ---- properties over random input sequences ----------------------------------------

const peers = ['a', 'c', 'd']
const anyId = fc.constantFrom('a', 'b', 'c', 'd')
const smallTerm = fc.integer({ min: 1, max: 6 })
const inputArb: fc.Arbitrary<CoreInput> = fc.oneof(
  fc.record({ peer: fc.constantFrom(...peers), term: fc.nat(6), leader: fc.option(anyId, { nil: undefined }), role: fc.constantFrom('none' as const, 'follower' as const, 'candidate' as const, 'leader' as const) }).map(
    ({ peer, term, leader, role }): CoreInput => ({ type: 'peer-up', peer, hello: hello(Math.max(term, 1), leader, role) }),
  ),
  fc.constantFrom(...peers).map((peer): CoreInput => ({ type: 'peer-down', peer })),
  fc.record({ from: fc.constantFrom(...peers), term: smallTerm, leader: anyId, reply: fc.boolean(), abandoned: fc.boolean(), leading: fc.boolean() }).map(
    ({ from, term, leader, reply, abandoned, leading }): CoreInput => ({ type: 'message', from, message: claimMsg(term, leader, { reply, ...(abandoned ? { abandoned } : {}), ...(leading ? { leading } : {}) }) }),
  ),
  fc.record({ from: fc.constantFrom(...peers), term: smallTerm }).map(({ from, term }): CoreInput => ({ type: 'message', from, message: { kind: 'ack', term, leader: 'b' } })),
  fc.record({ from: fc.constantFrom(...peers), term: smallTerm }).map(({ from, term }): CoreInput => ({ type: 'message', from, message: { kind: 'heartbeat', term } })),
  fc.record({ from: fc.constantFrom(...peers), term: smallTerm, successor: fc.option(anyId, { nil: undefined }) }).map(
    ({ from, term, successor }): CoreInput => ({ type: 'message', from, message: successor !== undefined ? { kind: 'handover', term, successor } : { kind: 'handover', term } }),
  ),
  fc.constantFrom('tick' as const, 'leader-check' as const, 'elect' as const, 'request:1' as const).map((name): CoreInput => ({ type: 'timer', name })),
  fc.nat(3).map((request): CoreInput => ({ type: 'become-leader', request, deadline: 1e9 })),
  fc.nat(3).map((request): CoreInput => ({ type: 'step-down', request, deadline: 1e9 })),
  fc.nat(3).map((request): CoreInput => ({ type: 'cancel', request })),
)
const scriptArb = fc.record({
  mode: fc.constantFrom('availability' as const, 'quorum' as const),
  manualOnly: fc.boolean(),
  steps: fc.array(fc.tuple(inputArb, fc.integer({ min: 0, max: 700 })), { maxLength: 60 }),
})

type Script = typeof scriptArb extends fc.Arbitrary<infer T> ? T : never

function play(script: Script, check?: (out: CoreOutput[], before: ElectionState, after: ElectionState) => void): CoreOutput[][] {
  const core = new ElectionCore(config('b', { mode: script.mode, manualOnly: script.manualOnly, ...(script.mode === 'quorum' ? { roster: ['a', 'b', 'c', 'd'] } : {}) }))
  const all = [core.step({ type: 'start' }, 0)]
  let now = 0
  for (const [input, dt] of script.steps) {
    now += dt
    const before = core.state()
    const out = core.step(input, now)
    check?.(out, before, core.state())
    all.push(out)
  }
  return all
}

describe('over random input sequences', () => {
  it('never throws, never lowers its term, never changes its vote within a term, persists before it sends', () => {
    fc.assert(
      fc.property(scriptArb, (script) => {
        play(script, (out, before, after) => {
          expect(after.term).toBeGreaterThanOrEqual(before.term)
          if (after.term === before.term && before.vote !== undefined) expect(after.vote?.leader).toBe(before.vote.leader)
          const persistAt = out.findIndex((o) => o.type === 'persist')
          if (persistAt >= 0) expect(persistAt).toBe(0)
          if (after.term !== before.term || after.vote?.leader !== before.vote?.leader) expect(persistAt).toBe(0)
        })
      }),
      { numRuns: 500 },
    )
  })

  it('is deterministic: the same inputs at the same times give the same outputs', () => {
    fc.assert(
      fc.property(scriptArb, (script) => {
        expect(play(script)).toEqual(play(script))
      }),
      { numRuns: 200 },
    )
  })
})
