/**
 * @packageDocumentation
 *
 * Find meshkit peers. One {@link Discovery} contract (start/stop, `peer:found`,
 * `peer:updated`, `peer:lost`, `peer:conflict`, an rxjs `peers$`), three
 * implementations:
 *
 * - {@link mdnsDiscovery}: mDNS / DNS-SD on multicast-dns; new peers in
 *   milliseconds, goodbyes in milliseconds, crashed peers expire in < 10 s,
 *   typed errors instead of crashes.
 * - {@link staticDiscovery}: a `host:port` list and last-known addresses, where
 *   multicast is blocked.
 * - {@link memoryDiscovery}: in-process, for tests and simulations.
 *
 * @example
 * ```ts
 * import { mdnsDiscovery } from '@meshkit/discovery'
 * const discovery = mdnsDiscovery({ advertisement: { id, publicKey, port, version: 1, groupTag }, loopbackOnly: true })
 * discovery.on('peer:found', (peer) => console.log('found', peer.id, peer.addresses))
 * discovery.on('peer:lost', ({ id, reason }) => console.log('lost', id, reason))
 * await discovery.start()
 * ```
 */
export * from './constants.js'
export * from './errors.js'
export type * from './contract.js'
export { mdnsDiscovery, MdnsDiscovery, type MdnsDiscoveryComponents, type MdnsDiscoveryInit } from './mdns.js'
export { parseStaticPeer, staticDiscovery, StaticDiscovery, staticPeerId, type StaticDiscoveryInit, type StaticPeer } from './static.js'
export { createMemoryDiscoveryNetwork, memoryDiscovery, MemoryDiscovery, type MemoryDiscoveryInit, type MemoryDiscoveryNetwork } from './memory.js'
export { selectInterfaces, type InterfaceSelection, type LocalInterface } from './interfaces.js'
export { advertisementPacket, encodeTxt, isServiceType, parseResponse, parseTxt } from './records.js'
