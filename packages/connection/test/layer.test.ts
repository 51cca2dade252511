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
