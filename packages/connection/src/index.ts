/**
 * @packageDocumentation
 *
 * One authenticated QUIC connection per device pair, with long-lived framed
 * channels over it.
 *
 * - QUIC (libp2p + @chainsafe/libp2p-quic, QUIC only): TLS 1.3 proves both
 *   device keys; the hello binds the key to a device id and a group credential.
 * - Dialing rule: the smaller device id dials at once; the larger waits a grace
 *   period, then dials too. Exactly one connection per pair: duplicates are
 *   resolved the same way on both sides and the loser drains without losing data.
 * - Channels: one long-lived stream per (peer, channel, direction), framed,
 *   coalesced, with a credit window so a slow reader slows the sender.
 * - Failure detection: QUIC idle timeout (1 s) + heartbeats; reconnect with
 *   capped, jittered backoff while the peer is wanted.
 *
 * @example
 * ```ts
 * import { createConnectionLayer } from '@meshkit/connection'
 * const layer = createConnectionLayer({ identity, group, credential, listen: ['127.0.0.1:0'] })
 * await layer.start()
 * layer.handle('chat', ({ peerId, payload }) => console.log(peerId, new TextDecoder().decode(payload)))
 * layer.on('peer:connected', ({ peerId }) => void layer.send(peerId, 'chat', new TextEncoder().encode('hi')))
 * layer.addPeer({ id: otherId, addresses: ['127.0.0.1:4001'] })
 * ```
 */
export * from './constants.js'
export * from './errors.js'
export type * from './events.js'
export type { CloseReason, RejectReason } from './reasons.js'
export { isCloseReason, isRejectReason, REJECT_REASONS } from './reasons.js'
export { createConnectionLayer, assertChannelName, type ConnectionLayer, type ConnectionLayerInit, type ConnectionLayerComponents, type LayerDiagnostics, type PeerTarget, type SendOptions } from './layer.js'
export type { ChannelHandler, ChannelMessage } from './channel-in.js'
export { formatHostPort, parseHostPort, type HostPort } from './libp2p-node.js'
export { decideDuplicate, dialPlan, isPreferredDialer, type ConnectionCandidate, type DialPlan, type DuplicateDecision, type DuplicateRule } from './rules.js'
export { encodeFrame, FrameDecoder, FrameType, frameSize, type Frame } from './codec.js'
export { checkHello, decodeHello, encodeHello, type Hello, type HelloContext, type VerifiedHello } from './hello.js'
