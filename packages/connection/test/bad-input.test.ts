/**
 * Hostile and broken peers: each bad input gets a typed error and a closed
 * connection; the process, the other connections and the messages already
 * accepted stay intact.
 */
import type { Connection, Libp2p } from '@libp2p/interface'
import { encode } from '@msgpack/msgpack'
import { deriveGroupKey, encodeCredential, ephemeralIdentity, issueCredential, type DeviceIdentity, type GroupKey } from '@meshkit/identity'
import { afterEach, describe, expect, test, vi } from 'vitest'
import { CHANNEL_PROTOCOL, CONTROL_PROTOCOL, encodeFrame, FrameType, PROTOCOL_VERSION, type ChannelMessage, type Hello, type PeerRejectedEvent, type ProtocolErrorEvent } from '../src/index.js'
import { dialerHandshake } from '../src/handshake.js'
import { createQuicNode, toMultiaddr } from '../src/libp2p-node.js'
import { nextEvent, startNode, stopAll, str, text, TEST_SECRET, type TestNode } from './helpers.js'

const rogues: Libp2p[] = []
afterEach(async () => {
  await Promise.all(rogues.splice(0).map(async (n) => n.stop()))
  await stopAll()
})

/** A raw QUIC endpoint that speaks whatever the test makes it speak. */
async function rogueConnection(victim: TestNode, identity: DeviceIdentity = ephemeralIdentity()): Promise<{ node: Libp2p; conn: Connection; identity: DeviceIdentity }> {
  const node = await createQuicNode({ secretKey: identity.secretKey, listen: [{ host: '127.0.0.1', port: 0 }], idleTimeoutMs: 2000, keepAliveMs: 500, maxConnections: 1000 })
  await node.start()
  rogues.push(node)
  const conn = await node.dial(toMultiaddr(victim.layer.addresses[0]!), { force: true })
  return { node, conn, identity }
}

function helloFor(identity: DeviceIdentity, group: GroupKey, overrides: Partial<Hello> = {}): Hello {
  return {
    version: PROTOCOL_VERSION,
    id: identity.id,
    credential: encodeCredential(issueCredential(group, identity.id, identity.publicKey)),
    epoch: new Uint8Array(8).fill(9),
    nonce: crypto.getRandomValues(new Uint8Array(8)),
    groupTag: group.tag,
    addresses: [],
    maxMessageBytes: 1024 * 1024,
    windowBytes: 4 * 1024 * 1024,
    ext: {},
    ...overrides,
  }
}

/** A member of the group gone rogue: completes a valid hello, then misbehaves. */
async function rogueMember(victim: TestNode): Promise<{ conn: Connection; control: Awaited<ReturnType<typeof dialerHandshake>>['control']; identity: DeviceIdentity }> {
  const { conn, identity } = await rogueConnection(victim)
  const stream = await conn.newStream(CONTROL_PROTOCOL)
  const { control } = await dialerHandshake({ stream, local: helloFor(identity, victim.group), check: (h) => ({ ...h, decodedCredential: undefined as never }), signal: AbortSignal.timeout(3000) })
  return { conn, control, identity }
}

/** A healthy pair: the victim and an honest peer exchanging messages. */
async function victimWithHonestPeer(): Promise<{ victim: TestNode; honest: TestNode; got: ChannelMessage[] }> {
  const victim = await startNode()
  const honest = await startNode()
  const got: ChannelMessage[] = []
  victim.layer.handle('chat', (m) => void got.push(m))
  honest.layer.handle('chat', () => {})
  const connected = [nextEvent(victim.layer, 'peer:connected'), nextEvent(honest.layer, 'peer:connected')]
  honest.layer.addPeer({ id: victim.identity.id, addresses: victim.layer.addresses })
  victim.layer.addPeer({ id: honest.identity.id, addresses: honest.layer.addresses })
  await Promise.all(connected)
  await honest.layer.send(victim.identity.id, 'chat', text('before the attack'))
  await vi.waitFor(() => expect(got).toHaveLength(1))
  return { victim, honest, got }
}

async function stillHealthy({ victim, honest, got }: { victim: TestNode; honest: TestNode; got: ChannelMessage[] }): Promise<void> {
  await honest.layer.send(victim.identity.id, 'chat', text('after the attack'))
  await victim.layer.send(honest.identity.id, 'chat', text('reply'))
  await vi.waitFor(() => expect(got.map((m) => str(m.payload))).toEqual(['before the attack', 'after the attack']))
  expect(victim.layer.connectedPeers()).toEqual([honest.identity.id])
}

const closed = async (conn: Connection): Promise<void> => {
  await vi.waitFor(() => expect(conn.status).not.toBe('open'), { timeout: 5000 })
}

describe('bad input before the hello completes', () => {
  test('garbage on the control stream: malformed-hello, connection closed', async () => {
    const pair = await victimWithHonestPeer()
    const rejected = nextEvent<PeerRejectedEvent>(pair.victim.layer, 'peer:rejected')
    const { conn } = await rogueConnection(pair.victim)
    const stream = await conn.newStream(CONTROL_PROTOCOL)
    stream.send(crypto.getRandomValues(new Uint8Array(64)).map((b) => b | 0x80))
    const e = await rejected
    expect(e.reason).toBe('malformed-hello')
    expect(e.direction).toBe('inbound')
    await closed(conn)
    await stillHealthy(pair)
  })

  test('a truncated hello followed by the end of the stream: malformed-hello', async () => {
    const pair = await victimWithHonestPeer()
    const rejected = nextEvent<PeerRejectedEvent>(pair.victim.layer, 'peer:rejected')
    const { conn, identity } = await rogueConnection(pair.victim)
    const stream = await conn.newStream(CONTROL_PROTOCOL)
    const hello = encodeFrame(FrameType.Hello, 0, encode({ v: PROTOCOL_VERSION, id: identity.id }))
    stream.send(hello.subarray(0, hello.length - 3))
    await stream.close()
    expect((await rejected).reason).toBe('malformed-hello')
    await closed(conn)
    await stillHealthy(pair)
  })

  test('a hello from another group is refused on both sides as wrong-group', async () => {
    const a = await startNode()
    const b = await startNode({ secret: 'another-group-secret-entirely-different' })
    const atA = nextEvent<PeerRejectedEvent>(a.layer, 'peer:rejected')
    const atB = nextEvent<PeerRejectedEvent>(b.layer, 'peer:rejected')
    a.layer.addPeer({ addresses: b.layer.addresses })
    const [ea, eb] = await Promise.all([atA, atB])
    expect([ea.reason, eb.reason]).toEqual(['wrong-group', 'wrong-group'])
    expect([ea.byPeer, eb.byPeer].sort()).toEqual([false, true])
    expect(a.layer.connectedPeers()).toEqual([])
    expect(b.layer.connectedPeers()).toEqual([])
  })

  test('an impostor (a known uuid and its credential, another key) is refused; the real device stays connected', async () => {
    const pair = await victimWithHonestPeer()
    const rejected = nextEvent<PeerRejectedEvent>(pair.victim.layer, 'peer:rejected')
    const impostor = ephemeralIdentity(pair.honest.identity.id)
    const { conn } = await rogueConnection(pair.victim, impostor)
    const stream = await conn.newStream(CONTROL_PROTOCOL)
    // the honest device's id and its genuine credential, but the impostor's TLS key
    const stolen = encodeCredential(issueCredential(pair.honest.group, pair.honest.identity.id, pair.honest.identity.publicKey))
    const attempt = dialerHandshake({ stream, local: helloFor(impostor, pair.honest.group, { credential: stolen }), check: (h) => ({ ...h, decodedCredential: undefined as never }), signal: AbortSignal.timeout(3000) }).catch((err: unknown) => err)
    const e = await rejected
    expect(e.reason).toBe('impostor')
    expect(e.peerId).toBe(pair.honest.identity.id)
    expect(await attempt).toMatchObject({ name: 'ConnectionRejectedError', reason: 'impostor' })
    await closed(conn)
    await stillHealthy(pair)
  })

  test('a protocol version from the future is refused as version-unsupported, and the peer is told so', async () => {
    const pair = await victimWithHonestPeer()
    const rejected = nextEvent<PeerRejectedEvent>(pair.victim.layer, 'peer:rejected')
    const { conn, identity } = await rogueConnection(pair.victim)
    const stream = await conn.newStream(CONTROL_PROTOCOL)
    const attempt = dialerHandshake({ stream, local: helloFor(identity, pair.victim.group, { version: PROTOCOL_VERSION + 1 }), check: (h) => ({ ...h, decodedCredential: undefined as never }), signal: AbortSignal.timeout(3000) }).catch((err: unknown) => err)
    expect((await rejected).reason).toBe('version-unsupported')
    expect(await attempt).toMatchObject({ name: 'ConnectionRejectedError', reason: 'version-unsupported' })
    await stillHealthy(pair)
  })

  test('a flood of connections that never say hello is shed; an honest peer still gets through', async () => {
    const victim = await startNode({ helloTimeoutMs: 500, maxPendingConnections: 16 })
    const honest = await startNode()
    const rejections: PeerRejectedEvent[] = []
    victim.layer.on('peer:rejected', (e) => rejections.push(e))
    const flooder = await createQuicNode({ secretKey: ephemeralIdentity().secretKey, listen: [{ host: '127.0.0.1', port: 0 }], idleTimeoutMs: 5000, keepAliveMs: 1000, maxConnections: 1000 })
    await flooder.start()
    rogues.push(flooder)
    const flood = Promise.allSettled(Array.from({ length: 100 }, () => flooder.dial(toMultiaddr(victim.layer.addresses[0]!), { force: true })))
    const got: ChannelMessage[] = []
    victim.layer.handle('chat', (m) => void got.push(m))
    honest.layer.addPeer({ id: victim.identity.id, addresses: victim.layer.addresses })
    await vi.waitFor(() => expect(honest.layer.connectedPeers()).toEqual([victim.identity.id]), { timeout: 15_000 })
    await honest.layer.send(victim.identity.id, 'chat', text('through the flood'))
    await vi.waitFor(() => expect(got.map((m) => str(m.payload))).toEqual(['through the flood']), { timeout: 10_000 })
    await flood
    await vi.waitFor(() => expect(victim.layer.diagnostics().pendingHellos).toBe(0), { timeout: 10_000 })
    expect(rejections.length).toBeGreaterThanOrEqual(90)
    expect(rejections.every((e) => e.reason === 'overload' || e.reason === 'hello-timeout')).toBe(true)
    expect(victim.layer.connectedPeers()).toEqual([honest.identity.id])
  }, 60_000)
})

describe('bad input from a member after the hello', () => {
  const protocolError = (victim: TestNode) => nextEvent<ProtocolErrorEvent>(victim.layer, 'connection:protocol-error')

  test('a length prefix beyond the maximum closes the connection with frame-too-large; earlier messages were delivered', async () => {
    const pair = await victimWithHonestPeer()
    const { conn, identity } = await rogueMember(pair.victim)
    const stream = await conn.newStream(CHANNEL_PROTOCOL)
    stream.send(encodeFrame(FrameType.Open, 0, text('chat')))
    stream.send(encodeFrame(FrameType.Data, 0, text('accepted first')))
    await vi.waitFor(() => expect(pair.got.map((m) => str(m.payload))).toContain('accepted first'))
    const failed = protocolError(pair.victim)
    stream.send(Uint8Array.from([0xff, 0xff, 0xff, 0x7f])) // varint ~268 MB
    const e = await failed
    expect(e.error.name).toBe('FrameTooLargeError')
    expect(e.peerId).toBe(identity.id)
    await closed(conn)
    expect(pair.got.filter((m) => m.peerId === identity.id).map((m) => str(m.payload))).toEqual(['accepted first'])
    await stillHealthyAfterRogue(pair)
  })

  test('an unknown frame type on the control stream closes the connection with unknown-frame', async () => {
    const pair = await victimWithHonestPeer()
    const { conn, control } = await rogueMember(pair.victim)
    const failed = protocolError(pair.victim)
    control.write(Uint8Array.from([2, 0x7e, 0])) // after our HELLO_ACK, in order
    expect((await failed).error.name).toBe('UnknownFrameTypeError')
    await closed(conn)
    await stillHealthyAfterRogue(pair)
  })

  test('a channel stream that does not start with OPEN, or names no valid channel, is a protocol error', async () => {
    const pair = await victimWithHonestPeer()
    const { conn } = await rogueMember(pair.victim)
    const failed = protocolError(pair.victim)
    const stream = await conn.newStream(CHANNEL_PROTOCOL)
    stream.send(encodeFrame(FrameType.Open, 0, Uint8Array.from([0xc3, 0x28]))) // invalid UTF-8
    expect((await failed).error.name).toBe('MalformedFrameError')
    await closed(conn)
    await stillHealthyAfterRogue(pair)
  })

  test('a sender that ignores the credit window is cut off with flow-control', async () => {
    const victim = await startNode({ windowBytes: 64 * 1024, maxMessageBytes: 16 * 1024 })
    victim.layer.handle('chat', () => new Promise(() => {})) // never consumes
    const { conn } = await rogueMember(victim)
    const failed = protocolError(victim)
    const stream = await conn.newStream(CHANNEL_PROTOCOL)
    stream.send(encodeFrame(FrameType.Open, 0, text('chat')))
    for (let i = 0; i < 8; i++) stream.send(encodeFrame(FrameType.Data, i, new Uint8Array(16 * 1024 - 16)))
    expect((await failed).error.name).toBe('FlowControlError')
    await closed(conn)
  })
})

async function stillHealthyAfterRogue(pair: { victim: TestNode; honest: TestNode; got: ChannelMessage[] }): Promise<void> {
  const before = pair.got.filter((m) => m.peerId === pair.honest.identity.id).length
  await pair.honest.layer.send(pair.victim.identity.id, 'chat', text('still here'))
  await vi.waitFor(() => expect(pair.got.filter((m) => m.peerId === pair.honest.identity.id)).toHaveLength(before + 1))
  expect(pair.victim.layer.connectedPeers()).toEqual([pair.honest.identity.id])
}

test('the suite uses the shared test secret', () => {
  expect(deriveGroupKey(TEST_SECRET).tag).toMatch(/^[0-9a-f]{12}$/)
})
