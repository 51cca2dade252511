/**
 * @packageDocumentation
 *
 * Harnesses for testing meshkit apps and meshkit itself:
 *
 * - {@link createSandboxLan}: N devices in Linux network namespaces on one
 *   bridge, with nftables loss, link flaps and partitions (needs root).
 * - {@link createLoopbackSandbox}: one namespace with only loopback (cheap mode).
 * - {@link startAvahi}: an independent mDNS implementation in a sandbox host.
 * - {@link spawnJsonProcess} / {@link JsonProcess}: drive child processes over
 *   JSON lines and await their events with deadlines.
 */
export { EventTimeoutError, JsonProcess, ProcessExitedError, spawnJsonProcess, type JsonEvent } from './json-process.js'
export {
  createLoopbackSandbox,
  createSandboxLan,
  SandboxError,
  SandboxHost,
  SandboxLan,
  sandboxAvailable,
  sh,
  type SandboxLanOptions,
  type SandboxStatus,
  type SpawnInHostOptions,
} from './sandbox/lan.js'
export { sweepStaleSandboxes } from './sandbox/cleanup.js'
export { assertMulticastAllowed, inRootNetworkNamespace, RootNamespaceError } from './sandbox/guard.js'
export { AvahiBrowser, parseAvahiBrowse, parseAvahiLine, startAvahi, type Avahi, type AvahiService } from './sandbox/avahi.js'
export { lastLeader, MESH_NODE_FIXTURE, peerStates, waitForAgreedLeader, waitForEvents, waitForReadyPeers } from './mesh-devices.js'
export { createSandboxTestMesh, SandboxDevice, type SandboxTestMesh, type SandboxTestMeshOptions } from './sandbox-mesh.js'
export { createTestMesh, type TestMesh, type TestMeshOptions } from './test-mesh.js'
