/**
 * The driver over the in-memory transport with real (short) timers.
 */
import { silentLogger } from '@meshkit/log'
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  createElection,
  createMemoryElectionNetwork,
  encodeMessage,
  memoryElectionStore,
  type Election,
  type ElectionEvents,
  type ElectionState,
  type LeaderView,
  type MessageRejectedEvent,
} from '../src/index.js'
import { fakeSigner, fakeVerifier } from './support/fake-crypto.js'
import { agreed, createTestMesh, FAST, type TestMesh } from './support/mesh.js'

let mesh: TestMesh | undefined
afterEach(async () => {
  await mesh?.stopAll()
  mesh = undefined
})

async function started(count: number, ...args: Parameters<typeof createTestMesh> extends [number, ...infer R] ? R : never): Promise<TestMesh> {
  mesh = createTestMesh(count, ...args)
  await Promise.all(mesh.elections.map((e) => e.start()))
  mesh.net.connectAll()
  return mesh
}

describe('lifecycle', () => {
  it('start and stop are idempotent; leader$ replays the current view and completes at stop', async () => {
    const m = await started(1)
    const e = m.elections[0]
    await Promise.all([e?.start(), e?.start()])
    const seen: LeaderView[] = []
    let completed = false
    e?.leader$.subscribe({ next: (v) => seen.push(v), complete: () => (completed = true) })
    await vi.waitFor(() => expect(e?.leader.role).toBe('leader'), { timeout: 1_000, interval: 5 })
    await Promise.all([e?.stop(), e?.stop()])
    expect(completed).toBe(true)
    expect(seen[0]).toEqual({ id: undefined, term: 0, role: 'none' })
    expect(seen).toContainEqual({ id: 'd0', term: 1, role: 'leader' })
    expect(seen.at(-1)).toEqual({ id: undefined, term: 1, role: 'none' })
    await expect(e?.start()).rejects.toMatchObject({ name: 'ElectionStoppedError' })
  })

  it('emits nothing before start and nothing after stop', async () => {
    mesh = createTestMesh(3, {}, [0, 2, 1])
    const [a, b, c] = mesh.elections as [Election, Election, Election]
    const events: string[] = []
    for (const name of ['leader:changed', 'term:changed', 'leader:lost', 'message:rejected', 'store:error'] as const) a.on(name, () => events.push(name))
    await b.start()
    await c.start()
    mesh.net.connect('d1', 'd2')
    await agreed([b, c], 'd1')
    expect(events).toEqual([])
    await a.start()
    mesh.net.connectAll()
    await agreed([a, b, c], 'd1')
    expect(events.length).toBeGreaterThan(0)
    await a.stop()
    const count = events.length
    mesh.net.connectAll() // a's transport stays linked: traffic arrives, nothing may surface
    await b.stepDown()
    await agreed([b, c], 'd2')
    await c.becomeLeader()
    expect(events.length).toBe(count)
  })

  it('rejects requests before start and after stop, and pending requests at stop', async () => {
    mesh = createTestMesh(2, { manualOnly: true })
    const [a, b] = mesh.elections
    await expect(a?.becomeLeader()).rejects.toMatchObject({ name: 'ElectionNotStartedError' })
    await a?.start()
    await b?.start()
    // b never answers (not connected yet when the claim goes out, then linked without b running its timers)
    mesh.net.connect('d0', 'd1')
    await vi.waitFor(() => expect(a?.diagnostics()?.peers.some((p) => p.connected)).toBe(true), { timeout: 1_000, interval: 5 })
    await b?.stop()
    const pending = a?.becomeLeader({ timeoutMs: 5_000 })
    const stopping = a?.stop()
    await expect(pending).rejects.toMatchObject({ name: 'ElectionStoppedError' })
    await stopping
    await expect(a?.becomeLeader()).rejects.toMatchObject({ name: 'ElectionStoppedError' })
  })

  it('validates its options', () => {
    const transport = createMemoryElectionNetwork().transport('x')
    const components = { transport, signer: fakeSigner('x'), verifier: fakeVerifier }
    expect(() => createElection({ heartbeatIntervalMs: 0 }, components)).toThrow(expect.objectContaining({ name: 'InvalidElectionConfigError', field: 'heartbeatIntervalMs' }))
    expect(() => createElection({ heartbeatIntervalMs: 200, heartbeatTimeoutMs: 100 }, components)).toThrow(expect.objectContaining({ field: 'heartbeatTimeoutMs' }))
    expect(() => createElection({ mode: 'quorum', roster: ['y'] }, components)).toThrow(expect.objectContaining({ field: 'roster' }))
  })
})

describe('electing', () => {
  it('three devices agree on the highest priority, with leader:changed and term:changed events', async () => {
    mesh = createTestMesh(3, {}, [0, 5, 1])
    const changes: Array<Parameters<ElectionEvents['leader:changed']>[0]> = []
    const terms: number[] = []
    mesh.elections[2]?.on('leader:changed', (e) => changes.push(e))
    mesh.elections[2]?.on('term:changed', (e) => terms.push(e.term))
    await Promise.all(mesh.elections.map((e) => e.start()))
    mesh.net.connectAll()
    expect(await agreed(mesh.elections)).toBe('d1')
    expect(terms).toEqual([1])
    expect(changes.at(-1)).toEqual({ leader: { id: 'd1', term: 1, role: 'follower' }, previous: { id: undefined, term: 1, role: 'none' } })
  })

  it('becomeLeader() resolves once every peer acknowledged; everyone follows', async () => {
    const m = await started(4)
    const first = await agreed(m.elections)
    const taker = m.elections.find((e) => e.id !== first)
    const view = await taker?.becomeLeader()
    expect(view).toEqual({ id: taker?.id, term: 2, role: 'leader' })
    await agreed(m.elections, taker?.id)
    expect(taker?.stamp()).toBe(2)
    expect(m.elections.every((e) => e.accepts(2) && e.accepts(3) && !e.accepts(1))).toBe(true)
    expect(m.elections.every((e) => e.accepts(2, taker?.id) && !e.accepts(2, first) && e.accepts(3, first))).toBe(true)
  })

  it('stepDown() hands over to the successor; followers cannot step down; alone there is no successor', async () => {
    const m = await started(3, {}, [3, 2, 1])
    await agreed(m.elections, 'd0')
    await expect(m.byId('d1').stepDown()).rejects.toMatchObject({ name: 'NotLeaderError' })
    expect(() => m.byId('d1').stamp()).toThrow(expect.objectContaining({ name: 'NotLeaderError' }))
    const view = await m.byId('d0').stepDown()
    expect(view).toMatchObject({ term: 2, role: 'none' })
    await agreed(m.elections, 'd1')
    m.net.isolate('d1')
    await vi.waitFor(() => expect(m.byId('d1').diagnostics()?.peers.every((p) => !p.connected)).toBe(true), { timeout: 1_000, interval: 5 })
    await expect(m.byId('d1').stepDown()).rejects.toMatchObject({ name: 'NoSuccessorError' })
    expect(m.byId('d1').leader.role).toBe('leader')
  })

  it('fails over when the leader disconnects, reporting leader:lost', async () => {
    const m = await started(3, {}, [3, 2, 1])
    await agreed(m.elections, 'd0')
    const lost = vi.fn()
    m.byId('d2').on('leader:lost', lost)
    m.net.isolate('d0')
    await agreed([m.byId('d1'), m.byId('d2')], 'd1')
    expect(lost).toHaveBeenCalledWith({ leaderId: 'd0', term: 1, reason: 'disconnected' })
    m.net.connectAll()
    await agreed(m.elections, 'd1')
  })

  it('a graceful stop of the leader hands over before it leaves', async () => {
    const m = await started(3, {}, [3, 2, 1])
    await agreed(m.elections, 'd0')
    const lost = vi.fn()
    m.byId('d2').on('leader:lost', lost)
    await m.byId('d0').stop()
    await agreed([m.byId('d1'), m.byId('d2')], 'd1')
    expect(lost).toHaveBeenCalledWith({ leaderId: 'd0', term: 1, reason: 'handover' })
  })

  it('aborts a pending takeover with the caller’s signal', async () => {
    const m = await started(2, { manualOnly: true })
    await expect(m.byId('d0').becomeLeader({ signal: AbortSignal.abort('no') })).rejects.toMatchObject({ name: 'ElectionAbortedError', cause: 'no' })
    m.net.isolate('d1')
    await vi.waitFor(() => expect(m.byId('d0').diagnostics()?.peers.every((p) => !p.connected)).toBe(true), { timeout: 1_000, interval: 5 })
    // d1 connected but stopped: the claim waits for it
    await m.byId('d1').stop()
    m.net.connect('d0', 'd1')
    await vi.waitFor(() => expect(m.byId('d0').diagnostics()?.peers.some((p) => p.connected)).toBe(true), { timeout: 1_000, interval: 5 })
    const controller = new AbortController()
    const pending = m.byId('d0').becomeLeader({ signal: controller.signal, timeoutMs: 10_000 })
    controller.abort(new Error('changed my mind'))
    await expect(pending).rejects.toMatchObject({ name: 'ElectionAbortedError' })
  })

  it('times out naming the peer that never acknowledged', async () => {
    const m = await started(2, { manualOnly: true })
    await vi.waitFor(() => expect(m.byId('d0').diagnostics()?.peers.some((p) => p.connected)).toBe(true), { timeout: 1_000, interval: 5 })
    await m.byId('d1').stop() // stopped, but its transport link stays up: a peer that does not answer
    m.net.connect('d0', 'd1')
    await expect(m.byId('d0').becomeLeader({ timeoutMs: 80 })).rejects.toMatchObject({ name: 'TakeoverTimeoutError', missing: ['d1'], timeoutMs: 80 })
  })
})

describe('joining and quorum', () => {
  it('an election started after its transport connected picks up the peers and learns the leader from their hellos', async () => {
    mesh = createTestMesh(3, {}, [2, 1, 0])
    const [a, b, late] = mesh.elections as [Election, Election, Election]
    await a.start()
    await b.start()
    mesh.net.connectAll()
    await agreed([a, b], 'd0')
    const terms = vi.fn()
    late.on('term:changed', terms)
    await late.start()
    await agreed([a, b, late], 'd0')
    expect(late.leader).toEqual({ id: 'd0', term: 1, role: 'follower' })
    expect(terms).toHaveBeenCalledWith({ term: 1, previous: 0 })
  })

  it('quorum mode: a majority elects, a lone device cannot and says why, the old leader resigns when cut off', async () => {
    const m = await started(3, { mode: 'quorum', roster: ['d0', 'd1', 'd2'] }, [2, 1, 0])
    await agreed(m.elections, 'd0')
    m.net.isolate('d0')
    await agreed([m.byId('d1'), m.byId('d2')], 'd1')
    await vi.waitFor(() => expect(m.byId('d0').leader).toMatchObject({ id: undefined, role: 'none' }), { timeout: 1_000, interval: 5 })
    await expect(m.byId('d0').becomeLeader()).rejects.toMatchObject({ name: 'QuorumUnavailableError', reachable: 1, needed: 2 })
    m.net.connectAll()
    await agreed(m.elections, 'd1')
  })
})

describe('persistence', () => {
  it('a restarted device keeps its term and vote, and learns the current leader from the hello', async () => {
    const m = await started(3, {}, [3, 2, 1])
    await agreed(m.elections, 'd0')
    await m.byId('d1').becomeLeader()
    const store = m.stores[2] as ReturnType<typeof memoryElectionStore>
    expect(store.current).toMatchObject({ term: 2, vote: { term: 2, leader: 'd1' } })
    await m.byId('d2').stop()
    m.net.isolate('d2')
    const again = m.add('d2', { priority: 1 }, store)
    await again.start()
    expect(again.term).toBe(2)
    m.net.connectAll()
    await agreed(m.elections, 'd1')
    expect(again.leader).toEqual({ id: 'd1', term: 2, role: 'follower' })
  })

  it('does not announce a vote it could not save, and says so', async () => {
    const failing = memoryElectionStore()
    let fail = false
    const store = { ...failing, load: failing.load, save: (s: ElectionState) => (fail ? Promise.reject(new Error('disk full')) : failing.save(s)) }
    mesh = createTestMesh(2, { manualOnly: true })
    const victim = mesh.add('d1', {}, store as ReturnType<typeof memoryElectionStore>)
    await Promise.all(mesh.elections.map((e) => e.start()))
    mesh.net.connectAll()
    await vi.waitFor(() => expect(victim.diagnostics()?.peers.some((p) => p.connected)).toBe(true), { timeout: 1_000, interval: 5 })
    const errors = vi.fn()
    victim.on('store:error', errors)
    fail = true
    await expect(mesh.byId('d0').becomeLeader({ timeoutMs: 100 })).rejects.toMatchObject({ name: 'TakeoverTimeoutError', missing: ['d1'] })
    expect(errors).toHaveBeenCalledWith({ error: expect.objectContaining({ name: 'ElectionStoreError', operation: 'save', cause: expect.objectContaining({ message: 'disk full' }) }) })
    // Once the disk recovers, the vote is saved and then announced.
    fail = false
    await agreed(mesh.elections, 'd0')
    expect(failing.current).toMatchObject({ term: 1, vote: { leader: 'd0' } })
  })

  it('a store that cannot load fails start() with ElectionStoreError', async () => {
    const transport = createMemoryElectionNetwork().transport('x')
    const e = createElection(FAST, { transport, signer: fakeSigner('x'), verifier: fakeVerifier, logger: silentLogger(), store: { load: () => Promise.reject(new Error('corrupt')), save: () => Promise.resolve() } })
    await expect(e.start()).rejects.toMatchObject({ name: 'ElectionStoreError', operation: 'load' })
  })
})

describe('hostile peers', () => {
  it('drops forged claims and malformed bytes with message:rejected, and changes nothing', async () => {
    const m = await started(2, {}, [1, 0])
    await agreed(m.elections, 'd0')
    const mallory = m.net.transport('mallory')
    m.net.connect('mallory', 'd1')
    await vi.waitFor(() => expect(m.byId('d1').diagnostics()?.peers.some((p) => p.id === 'mallory' && p.connected)).toBe(true), { timeout: 1_000, interval: 5 })
    const rejected: MessageRejectedEvent[] = []
    m.byId('d1').on('message:rejected', (e) => rejected.push(e))
    // a claim "by d0" for a huge term, without d0's key
    mallory.send('d1', encodeMessage({ kind: 'claim', claim: { term: 1_000, leader: 'd0', signature: new Uint8Array(8) }, reply: false }))
    // mallory's own claim signed with d1's key material: does not verify for mallory
    mallory.send('d1', encodeMessage({ kind: 'claim', claim: { term: 1_000, leader: 'mallory', signature: fakeSigner('d1').sign(new Uint8Array([1])) }, reply: false }))
    mallory.send('d1', new Uint8Array([0xc1, 0x00]))
    await vi.waitFor(() => expect(rejected.length).toBe(3), { timeout: 1_000, interval: 5 })
    expect(rejected.map((r) => r.error.name)).toEqual(['InvalidClaimSignatureError', 'InvalidClaimSignatureError', 'ElectionDecodeError'])
    expect(rejected[0]).toMatchObject({ peerId: 'mallory', source: 'message', error: { leader: 'd0', term: 1_000 } })
    expect(m.byId('d1').leader).toEqual({ id: 'd0', term: 1, role: 'follower' })
  })
})

describe('wiring helpers', () => {
  it('helloState() is what a peer decodes; the hello carries the signed claim', async () => {
    const { decodeHello } = await import('../src/index.js')
    const m = await started(2, {}, [1, 0])
    await agreed(m.elections, 'd0')
    const hello = decodeHello(m.byId('d0').helloState())
    expect(hello).toMatchObject({ version: 1, term: 1, role: 'leader', priority: 1, claim: { term: 1, leader: 'd0' } })
    expect(hello.claim?.signature?.length).toBeGreaterThan(0)
  })
})
