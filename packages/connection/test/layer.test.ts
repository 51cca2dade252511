import { afterEach, describe, expect, test, vi } from 'vitest'
import type { ChannelMessage } from '../src/index.js'
import { nextEvent, orderedIds, startNode, stopAll, str, text } from './helpers.js'

afterEach(stopAll)

describe('two devices on loopback', () => {
  test('the smaller id dials, both sides send and receive on the one connection', async () => {
    const [small, large] = orderedIds()
    const a = await startNode({ id: small })
    const b = await startNode({ id: large })
    const gotA: ChannelMessage[] = []
    const gotB: ChannelMessage[] = []
    a.layer.handle('chat', (m) => void gotA.push(m))
    b.layer.handle('chat', (m) => void gotB.push(m))
    const connectedA = nextEvent(a.layer, 'peer:connected')
    const connectedB = nextEvent(b.layer, 'peer:connected')
    a.layer.addPeer({ id: b.identity.id, publicKey: b.identity.publicKey, addresses: b.layer.addresses })
    b.layer.addPeer({ id: a.identity.id, publicKey: a.identity.publicKey, addresses: a.layer.addresses })
    const [ea, eb] = await Promise.all([connectedA, connectedB])
    expect((ea as { connection: { direction: string } }).connection.direction).toBe('outbound')
    expect((eb as { connection: { direction: string } }).connection.direction).toBe('inbound')
    await b.layer.send(a.identity.id, 'chat', text('from the accepting side'))
    await a.layer.send(b.identity.id, 'chat', text('from the dialer'))
    await vi.waitFor(() => {
      expect(gotA.map((m) => str(m.payload))).toEqual(['from the accepting side'])
      expect(gotB.map((m) => str(m.payload))).toEqual(['from the dialer'])
    })
    expect(gotA[0]?.peerId).toBe(b.identity.id)
    expect(a.layer.connectedPeers()).toEqual([b.identity.id])
    expect(b.layer.connectedPeers()).toEqual([a.identity.id])
  })
})

describe('a peer that moved', () => {
  test('new addresses are dialed at once, not after the backoff of the old ones', async () => {
    const [small, large] = orderedIds()
    // a constant 10 s backoff: without the move rule the next attempt would be 10 s away
    const a = await startNode({ id: small, reconnectMinMs: 10_000, reconnectMaxMs: 10_000 })
    const b = await startNode({ id: large })
    const dead = await startNode()
    const deadAddresses = dead.layer.addresses
    await dead.layer.stop()
    const failed = nextEvent(a.layer, 'peer:dial-failed', () => true, 10_000)
    a.layer.addPeer({ id: b.identity.id, publicKey: b.identity.publicKey, addresses: deadAddresses })
    await failed
    const connected = nextEvent(a.layer, 'peer:connected', () => true, 5_000)
    const movedAt = Date.now()
    a.layer.addPeer({ id: b.identity.id, publicKey: b.identity.publicKey, addresses: b.layer.addresses })
    await connected
    expect(Date.now() - movedAt).toBeLessThan(5_000)
    expect(a.layer.connectedPeers()).toEqual([b.identity.id])
  })
})
