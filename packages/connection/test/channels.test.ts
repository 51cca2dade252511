/**
 * Channels: order, reuse of one stream, receive-side flow control, and no loss
 * while a duplicate connection is resolved under traffic.
 */
import { afterEach, describe, expect, test, vi } from 'vitest'
import { SendQueueFullError, type ChannelMessage, type DuplicateClosedEvent, type PeerConnectedEvent } from '../src/index.js'
import { nextEvent, orderedIds, startNode, stopAll, text, type TestNode } from './helpers.js'

afterEach(stopAll)

async function connectedPair(overrides = {}): Promise<[TestNode, TestNode]> {
  const [small, large] = orderedIds()
  const a = await startNode({ id: small, ...overrides })
  const b = await startNode({ id: large, ...overrides })
  const both = [nextEvent(a.layer, 'peer:connected'), nextEvent(b.layer, 'peer:connected')]
  a.layer.addPeer({ id: b.identity.id, addresses: b.layer.addresses })
  b.layer.addPeer({ id: a.identity.id, addresses: a.layer.addresses })
  await Promise.all(both)
  return [a, b]
}

const u32 = (n: number): Uint8Array => {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setUint32(0, n)
  return b
}
const readU32 = (b: Uint8Array): number => new DataView(b.buffer, b.byteOffset, 4).getUint32(0)

describe('channels', () => {
  test('10,000 messages each way arrive in order over one stream per direction', async () => {
    const [a, b] = await connectedPair()
    const atA: number[] = []
    const atB: number[] = []
    a.layer.handle('bulk', (m) => void atA.push(readU32(m.payload)))
    b.layer.handle('bulk', (m) => void atB.push(readU32(m.payload)))
    const N = 10_000
    await Promise.all([
      Promise.all(Array.from({ length: N }, (_, i) => a.layer.send(b.identity.id, 'bulk', u32(i)))),
      Promise.all(Array.from({ length: N }, (_, i) => b.layer.send(a.identity.id, 'bulk', u32(i)))),
    ])
    await vi.waitFor(() => {
      expect(atB).toHaveLength(N)
      expect(atA).toHaveLength(N)
    })
    const ascending = Array.from({ length: N }, (_, i) => i)
    expect(atB).toEqual(ascending)
    expect(atA).toEqual(ascending)
    expect(a.layer.stats(b.identity.id)).toMatchObject({ streamsOpened: 1, messagesSent: N, messagesReceived: N, connections: 1 })
    expect(b.layer.stats(a.identity.id)).toMatchObject({ streamsOpened: 1, messagesSent: N, messagesReceived: N, connections: 1 })
  })

  test('a slow consumer holds the sender to the credit window; nothing is lost when it catches up', async () => {
    const windowBytes = 256 * 1024
    const [a, b] = await connectedPair({ windowBytes, maxMessageBytes: 16 * 1024, maxQueuedBytes: 1024 * 1024 })
    const delivered: number[] = []
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    b.layer.handle('slow', async (m: ChannelMessage) => {
      delivered.push(readU32(m.payload))
      await gate // the app is stuck on the first message
    })
    const size = 16 * 1024
    const frame = size + 4 // payload + frame header (length varint 3, type 1, id varint <= 2, rounded up)
    let resolved = 0
    const sends: Array<Promise<void>> = []
    for (let i = 0; i < 60; i++) {
      const payload = new Uint8Array(size)
      payload.set(u32(i))
      sends.push(a.layer.send(b.identity.id, 'slow', payload).then(() => void resolved++))
    }
    // the sender may have at most one window in flight: 256 KiB / ~16 KiB = 15 messages
    const inWindow = Math.floor(windowBytes / frame)
    await vi.waitFor(() => expect(resolved).toBe(inWindow))
    await vi.waitFor(() => expect(delivered).toEqual([0]))
    // and no more, however long we look: the rest wait in the sender's queue
    await a.layer.send(b.identity.id, 'other', text('the connection itself is not blocked'))
    expect(resolved).toBe(inWindow)
    expect(b.layer.stats(a.identity.id)?.bytesReceived).toBeLessThanOrEqual(windowBytes)
    // beyond the queue limit, a caller that does not await is told so
    const flood = Array.from({ length: 100 }, () => a.layer.send(b.identity.id, 'slow', new Uint8Array(size)).then(() => 'sent', (err: unknown) => err))
    expect(await flood.at(-1)).toBeInstanceOf(SendQueueFullError)
    release()
    await Promise.all(sends)
    await vi.waitFor(() => expect(delivered.slice(0, 60)).toEqual(Array.from({ length: 60 }, (_, i) => i)))
    const outcomes = await Promise.all(flood)
    // what fit in the queue was sent; the rest was refused, never silently dropped
    expect(outcomes.filter((o) => o !== 'sent').every((o) => o instanceof SendQueueFullError)).toBe(true)
    await vi.waitFor(() => expect(delivered).toHaveLength(60 + outcomes.filter((o) => o === 'sent').length))
  })

  test('no message is lost or reordered while a duplicate connection is resolved under traffic', async () => {
    let swapsUnderTraffic = 0
    for (let attempt = 0; attempt < 12 && swapsUnderTraffic < 2; attempt++) {
      const [small, large] = orderedIds()
      // both dial at once: a simultaneous open on every attempt
      const a = await startNode({ id: small, dialGraceMs: 0 })
      const b = await startNode({ id: large, dialGraceMs: 0 })
      const nodes = [a, b] as const
      const received: [number[], number[]] = [[], []]
      nodes.forEach((n, i) => n.layer.handle('seq', (m) => void received[i]!.push(readU32(m.payload))))
      const duplicates = nodes.map((n) => nextEvent<DuplicateClosedEvent>(n.layer, 'connection:duplicate-closed', () => true, 5000).catch(() => undefined))
      const firsts = nodes.map((n) => nextEvent<PeerConnectedEvent>(n.layer, 'peer:connected'))
      a.layer.addPeer({ id: b.identity.id, addresses: b.layer.addresses })
      b.layer.addPeer({ id: a.identity.id, addresses: a.layer.addresses })
      // each side streams from the first moment it is connected, through the resolution
      const N = 3000
      await Promise.all(
        nodes.map(async (n, i) => {
          await firsts[i]
          const other = nodes[1 - i]!.identity.id
          for (let k = 0; k < N; k++) await n.layer.send(other, 'seq', u32(k))
        }),
      )
      const [da, db] = await Promise.all(duplicates)
      await vi.waitFor(() => expect(received.map((r) => r.length)).toEqual([N, N]))
      const ascending = Array.from({ length: N }, (_, k) => k)
      expect(received).toEqual([ascending, ascending])
      if (da !== undefined && db !== undefined) {
        expect(da.kept.key).toBe(db.kept.key)
        expect(da.closed.key).toBe(db.closed.key)
        for (const [i, d] of [da, db].entries()) if (d.closed.id === (await firsts[i]!).connection.id) swapsUnderTraffic++
      }
      await vi.waitFor(() => {
        expect(a.layer.diagnostics()).toMatchObject({ transportConnections: 1, sessions: 1 })
        expect(b.layer.diagnostics()).toMatchObject({ transportConnections: 1, sessions: 1 })
      })
      expect(a.layer.peer(b.identity.id)?.connection?.key).toBe(b.layer.peer(a.identity.id)?.connection?.key)
      await stopAll()
    }
    expect(swapsUnderTraffic, 'a sender moved to the winning connection mid-stream').toBeGreaterThan(0)
  }, 120_000)
})
