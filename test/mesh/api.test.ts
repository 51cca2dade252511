/**
 * The mesh API end to end, in this process on loopback (memory discovery):
 * formation, broadcast, send from either side, requests, leader terms, bad
 * input, shutdown.
 */
import { InvalidChannelNameError, MessageTooLargeError } from '@meshkit/connection'
import {
  createMesh,
  generateGroupSecret,
  InvalidMeshOptionsError,
  MeshNotRunningError,
  MeshReadyTimeoutError,
  NoResponderError,
  NotLeaderError,
  PayloadEncodeError,
  PeerNotReadyError,
  RemoteHandlerError,
  RequestTimeoutError,
  type MeshMessage,
} from '@meshkit/mesh'
import { createTestMesh, type TestMesh } from '@meshkit/testing'
import { firstValueFrom, filter } from 'rxjs'
import { afterEach, describe, expect, test, vi } from 'vitest'

let tm: TestMesh | undefined
afterEach(async () => {
  await tm?.stop()
  tm = undefined
})

describe('a mesh of 5 on loopback', () => {
  test('forms a full mesh with exactly one connection per pair', async () => {
    tm = await createTestMesh(5)
    await tm.waitForFullMesh()
    for (const m of tm.meshes) {
      expect(m.peers().filter((p) => p.state === 'ready')).toHaveLength(4)
      await vi.waitFor(() => expect(m.diagnostics()).toMatchObject({ transportConnections: 4, sessions: 4 }))
    }
  })

  test('a broadcast reaches every peer exactly once and in order, from every sender', async () => {
    tm = await createTestMesh(5)
    await tm.waitForFullMesh()
    const got = new Map<string, Array<{ from: string; seq: number }>>()
    for (const m of tm.meshes) {
      got.set(m.id, [])
      m.messages$('seq').subscribe((msg) => got.get(m.id)!.push({ from: msg.from, seq: (msg.payload as { seq: number }).seq }))
    }
    const N = 300
    await Promise.all(
      tm.meshes.map(async (m) => {
        for (let i = 0; i < N; i++) {
          const report = await m.broadcast('seq', { seq: i })
          expect(report.delivered).toHaveLength(4)
        }
      }),
    )
    await vi.waitFor(() => expect([...got.values()].map((l) => l.length)).toEqual(Array(5).fill(4 * N)))
    for (const [id, list] of got) {
      for (const sender of tm.meshes.filter((m) => m.id !== id)) {
        expect(list.filter((x) => x.from === sender.id).map((x) => x.seq)).toEqual(Array.from({ length: N }, (_, i) => i))
      }
    }
  })

  test('the number of streams stays constant while 10,000 messages flow', async () => {
    tm = await createTestMesh(2)
    await tm.waitForFullMesh()
    const [a, b] = tm.meshes as [NonNullable<TestMesh['meshes'][0]>, NonNullable<TestMesh['meshes'][0]>]
    let received = 0
    b.messages$('flow').subscribe(() => received++)
    await a.send(b.id, 'flow', new Uint8Array([0]))
    await vi.waitFor(() => expect(received).toBe(1))
    const before = a.stats().find((s) => s.peerId === b.id)!.streamsOpened
    for (let i = 0; i < 10_000; i++) await a.send(b.id, 'flow', new Uint8Array([i & 255]))
    await vi.waitFor(() => expect(received).toBe(10_001))
    expect(a.stats().find((s) => s.peerId === b.id)!.streamsOpened).toBe(before)
  })
})

describe('messaging', () => {
  test('the accepting side of a connection sends as freely as the dialer', async () => {
    tm = await createTestMesh(2)
    await tm.waitForFullMesh()
    const [a, b] = tm.meshes as [NonNullable<TestMesh['meshes'][0]>, NonNullable<TestMesh['meshes'][0]>]
    const stats = a.stats()[0]!
    expect(stats.state).toBe('ready')
    const dialer = a.timeline(b.id).find((e) => e.event === 'ready')!.detail!.direction === 'outbound' ? a : b
    const acceptor = dialer === a ? b : a
    const got = firstValueFrom(dialer.messages$('hi'))
    await acceptor.send(dialer.id, 'hi', 'from the accepting side')
    expect((await got).payload).toBe('from the accepting side')
  })

  test("the 'message' event sees every delivered message, of every channel", async () => {
    tm = await createTestMesh(2)
    await tm.waitForFullMesh()
    const [a, b] = tm.meshes as [NonNullable<TestMesh['meshes'][0]>, NonNullable<TestMesh['meshes'][0]>]
    const seen: Array<[string, unknown]> = []
    const both = new Promise<void>((resolve) =>
      b.on('message', (m) => {
        seen.push([m.channel, m.payload])
        if (seen.length === 2) resolve()
      }),
    )
    await a.send(b.id, 'one', 1)
    await a.broadcast('two', 'x')
    await both
    expect(seen.sort()).toEqual([
      ['one', 1],
      ['two', 'x'],
    ])
  })

  test('createTestMesh: kill() removes a device, the rest elect a new leader; restart() brings it back with the same id', async () => {
    tm = await createTestMesh(3)
    await tm.waitForFullMesh()
    const first = await tm.waitForLeader()
    const index = tm.meshes.findIndex((m) => m.id === first.id)
    await tm.kill(index)
    const next = await tm.waitForLeader()
    expect(next.id).not.toBe(first.id)
    expect(next.term).toBeGreaterThan(first.term)
    const back = await tm.restart(index)
    expect(back.id).toBe(first.id)
    await tm.waitForFullMesh()
    const after = await tm.waitForLeader()
    expect(after.term).toBeGreaterThanOrEqual(next.term)
  })

  test('messages sent before anyone subscribed wait for the first reader', async () => {
    tm = await createTestMesh(2)
    await tm.waitForFullMesh()
    const [a, b] = tm.meshes as [NonNullable<TestMesh['meshes'][0]>, NonNullable<TestMesh['meshes'][0]>]
    for (let i = 0; i < 5; i++) await a.send(b.id, 'late', i)
    const seen: number[] = []
    for await (const m of b.messages('late')) {
      seen.push(m.payload as number)
      if (seen.length === 5) break
    }
    expect(seen).toEqual([0, 1, 2, 3, 4])
  })

  test('requests: answers, no responder, a failing responder, timeouts and aborts are each typed', async () => {
    tm = await createTestMesh(2)
    await tm.waitForFullMesh()
    const [a, b] = tm.meshes as [NonNullable<TestMesh['meshes'][0]>, NonNullable<TestMesh['meshes'][0]>]
    b.respond('add', (p) => (p as number[]).reduce((x, y) => x + y, 0))
    b.respond('boom', () => {
      throw new Error('kaput')
    })
    b.respond('never', () => new Promise(() => {}))
    expect(await a.request(b.id, 'add', [1, 2, 3])).toBe(6)
    await expect(a.request(b.id, 'unknown', 1)).rejects.toBeInstanceOf(NoResponderError)
    await expect(a.request(b.id, 'boom', 1)).rejects.toMatchObject({ name: 'RemoteHandlerError', remoteMessage: 'kaput' })
    await expect(a.request(b.id, 'never', 1, { timeoutMs: 100 })).rejects.toBeInstanceOf(RequestTimeoutError)
    const controller = new AbortController()
    const pending = a.request(b.id, 'never', 1, { timeoutMs: 10_000, signal: controller.signal })
    controller.abort(new Error('changed my mind'))
    await expect(pending).rejects.toThrow('changed my mind')
    expect(RemoteHandlerError.name).toBe('RemoteHandlerError')
  })

  test('bad input: oversized payloads, unencodable values, bad channel names, unknown peers are typed errors; nothing else is disturbed', async () => {
    tm = await createTestMesh(2, { options: { maxMessageBytes: 1024 } })
    await tm.waitForFullMesh()
    const [a, b] = tm.meshes as [NonNullable<TestMesh['meshes'][0]>, NonNullable<TestMesh['meshes'][0]>]
    await expect(a.send(b.id, 'x', new Uint8Array(5000))).rejects.toBeInstanceOf(MessageTooLargeError)
    await expect(a.send(b.id, 'x', { f: () => 1 })).rejects.toBeInstanceOf(PayloadEncodeError)
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    await expect(a.broadcast('x', cyclic)).rejects.toBeInstanceOf(PayloadEncodeError)
    await expect(a.send(b.id, 'bad name!', 1)).rejects.toBeInstanceOf(InvalidChannelNameError)
    await expect(a.send(b.id, '$election', 1)).rejects.toBeInstanceOf(InvalidChannelNameError)
    await expect(a.send('00000000-0000-4000-8000-000000000000', 'x', 1)).rejects.toBeInstanceOf(PeerNotReadyError)
    const got = firstValueFrom(b.messages$('x'))
    await a.send(b.id, 'x', 'still fine')
    expect((await got).payload).toBe('still fine')
  })
})

describe('leader', () => {
  test('one leader is elected; a takeover moves it; leader messages carry the term and stale ones can be filtered', async () => {
    tm = await createTestMesh(3)
    await tm.waitForFullMesh()
    const first = await tm.waitForLeader()
    const follower = tm.meshes.find((m) => m.id !== first.id)!
    const other = tm.meshes.find((m) => m.id !== first.id && m !== follower)!
    await expect(follower.broadcast('cmd', 'x', { asLeader: true })).rejects.toBeInstanceOf(NotLeaderError)
    const taken = await follower.becomeLeader({ timeoutMs: 3000 })
    expect(taken).toMatchObject({ id: follower.id, role: 'leader' })
    expect(taken.term).toBeGreaterThan(first.term)
    await vi.waitFor(() => expect(tm!.meshes.map((m) => m.leader.id)).toEqual(Array(3).fill(follower.id)))
    const leaderOnly: MeshMessage[] = []
    other.messages$('cmd', { currentLeaderOnly: true }).subscribe((m) => leaderOnly.push(m))
    await follower.broadcast('cmd', { op: 'play' }, { asLeader: true })
    await follower.broadcast('cmd', { op: 'not from a leader' })
    await vi.waitFor(() => expect(leaderOnly.map((m) => m.payload)).toEqual([{ op: 'play' }]))
    expect(leaderOnly[0]!.term).toBe(taken.term)
    expect(other.acceptsTerm(taken.term - 1)).toBe(false)
    const changed = await firstValueFrom(other.leader$.pipe(filter((v) => v.id === follower.id)))
    expect(changed.term).toBe(taken.term)
  })
})

describe('lifecycle and options', () => {
  test('bad options are InvalidMeshOptionsError before anything opens', async () => {
    await expect(createMesh({} as never)).rejects.toBeInstanceOf(InvalidMeshOptionsError)
    await expect(createMesh({ group: { secret: generateGroupSecret() }, app: 'no spaces please' })).rejects.toBeInstanceOf(InvalidMeshOptionsError)
    await expect(createMesh({ group: { secret: generateGroupSecret() }, storage: 'memory', discovery: 'bogus' as never })).rejects.toBeInstanceOf(InvalidMeshOptionsError)
  })

  test('ready() times out with a typed error; calls after stop() are MeshNotRunningError; stop is idempotent', async () => {
    tm = await createTestMesh(1)
    const [m] = tm.meshes as [NonNullable<TestMesh['meshes'][0]>]
    await expect(m.ready({ peers: 1, timeoutMs: 50 })).rejects.toBeInstanceOf(MeshReadyTimeoutError)
    await Promise.all([m.stop(), m.stop()])
    expect(m.status).toBe('stopped')
    await expect(m.broadcast('x', 1)).rejects.toBeInstanceOf(MeshNotRunningError)
    expect(() => m.respond('x', () => 1)).toThrow(MeshNotRunningError)
  })

  test('the timeline records discovery, dialing and readiness and exports as JSON', async () => {
    tm = await createTestMesh(2)
    await tm.waitForFullMesh()
    const [a, b] = tm.meshes as [NonNullable<TestMesh['meshes'][0]>, NonNullable<TestMesh['meshes'][0]>]
    const events = a.timeline(b.id).map((e) => e.event)
    expect(events).toContain('discovered')
    expect(events).toContain('ready')
    const exported = JSON.parse(a.exportTimeline()) as { device: string; entries: unknown[] }
    expect(exported.device).toBe(a.id)
    expect(exported.entries.length).toBeGreaterThan(2)
  })
})
