/**
 * @packageDocumentation
 *
 * `createMesh()`: devices of one app and group find each other (mDNS),
 * connect once each over authenticated QUIC, exchange messages on named
 * channels, and agree on a leader.
 *
 * @example
 * ```ts
 * import { createMesh } from '@meshkit/mesh'
 *
 * const mesh = await createMesh({ app: 'myapp', group: { secret: process.env.MESH_SECRET! } })
 * mesh.messages$('commands').subscribe(({ from, payload }) => console.log(from, payload))
 * await mesh.ready({ peers: 1 })
 * await mesh.broadcast('commands', { op: 'play' })
 * mesh.leader$.subscribe(({ id, term, role }) => console.log('leader', id, term, role))
 * await mesh.becomeLeader()
 * await mesh.stop()
 * ```
 */
export * from './constants.js'
export * from './errors.js'
export type * from './events.js'
export { createMesh, meshOf, type Mesh, type MeshPeerStats, type ReadyOptions } from './mesh.js'
export type { IteratorOptions, MessagesOptions, RequestOptions, Responder, SendOptions } from './messaging.js'
export type { ChannelOptions, DiscoveryOption, MeshOptions } from './options.js'
export { decodeEnvelope, encodeEnvelope, Kind, type Envelope } from './codec.js'
// what apps need from the layers below, without importing them
export { generateGroupSecret } from '@meshkit/identity'
export type { LeaderView } from '@meshkit/election'
