/**
 * @packageDocumentation
 *
 * Leader election for meshkit: from two devices up, with manual takeover,
 * automatic failover, partitions that heal, and fencing terms.
 *
 * - {@link ElectionCore}: the pure state machine (events and time in; messages,
 *   timers, persisted state and notifications out). No I/O, clock, randomness
 *   or crypto inside, so it can be simulated exhaustively.
 * - {@link createElection}: the driver over a narrow {@link ElectionTransport},
 *   real timers, an {@link ElectionStore} and injected claim signing
 *   ({@link identityClaimCrypto} for meshkit identities).
 * - Wire formats: {@link encodeMessage}/{@link decodeMessage},
 *   {@link encodeHello}/{@link decodeHello}, {@link claimSigningBytes}
 *   (PROTOCOL.md section 8).
 *
 * @example
 * ```ts
 * import { createElection, createMemoryElectionNetwork } from '@meshkit/election'
 * const net = createMemoryElectionNetwork()
 * const election = createElection({ priority: 1 }, { transport: net.transport(myId), signer, verifier, store })
 * election.leader$.subscribe(({ id, term, role }) => console.log(id, term, role))
 * await election.start()
 * await election.becomeLeader({ timeoutMs: 1000 })
 * ```
 */
export * from './constants.js'
export * from './errors.js'
export type * from './events.js'
export type * from './types.js'
export type { ElectionTransport, ElectionTransportListener } from './transport.js'
export { ElectionCore, type HelloState } from './core.js'
export type { CoreConfig, CoreDiagnostics, CoreInput, CoreOutput, RequestFailure, RequestResult, TimerName } from './core-types.js'
export { createElection, type Election, type ElectionClock, type ElectionComponents, type RequestOptions } from './driver.js'
export type { ElectionInit } from './options.js'
export { acceptsTerm, compareCandidates, compareClaims, majorityOf, successorOrder, type Candidate } from './rules.js'
export { claimSigningBytes, decodeHello, decodeMessage, decodeState, encodeHello, encodeMessage, encodeState, MessageKind } from './codec.js'
export { identityClaimCrypto, type ClaimSigner, type ClaimVerifier, type IdentityClaimCryptoInit } from './claim-crypto.js'
export { identityElectionStore, memoryElectionStore, type ElectionStore, type MemoryElectionStore, type RecordStore } from './store.js'
export { createMemoryElectionNetwork, type MemoryElectionNetwork, type MemoryElectionNetworkInit } from './memory-transport.js'
