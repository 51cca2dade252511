/** Errors of @meshkit/mesh: one class per condition, discriminated by `name`. */

/** An option that cannot work; the message says which and why. */
export class InvalidMeshOptionsError extends Error {
  override readonly name = 'InvalidMeshOptionsError'
}

/** A call on a mesh that is not running (before start, during or after stop). */
export class MeshNotRunningError extends Error {
  override readonly name = 'MeshNotRunningError'
  constructor(what: string) {
    super(`${what}: the mesh is not running (it was stopped, or start() has not completed)`)
  }
}

/** `ready()` did not see enough ready peers in time. */
export class MeshReadyTimeoutError extends Error {
  override readonly name = 'MeshReadyTimeoutError'
  constructor(
    readonly wanted: number,
    readonly ready: number,
    readonly timeoutMs: number,
  ) {
    super(`only ${ready} of ${wanted} peers were ready after ${timeoutMs} ms: check mesh.timeline() and \`meshkit doctor\``)
  }
}

/** A payload the codec cannot encode (functions, symbols, cycles, BigInt beyond 64 bits...). */
export class PayloadEncodeError extends Error {
  override readonly name = 'PayloadEncodeError'
  constructor(options?: ErrorOptions) {
    super('the payload cannot be encoded: send a Uint8Array, or plain data (objects, arrays, strings, numbers, booleans, null, Uint8Array, Date)', options)
  }
}

/** Bytes that are not a mesh envelope (from a peer of an incompatible version, or broken). Dropped. */
export class MalformedEnvelopeError extends Error {
  override readonly name = 'MalformedEnvelopeError'
  constructor(
    readonly peerId: string,
    readonly channel: string,
    detail: string,
  ) {
    super(`malformed message from ${peerId} on ${channel}: ${detail}`)
  }
}

/** The peer is not connected (and the channel is not reliable). */
export class PeerNotReadyError extends Error {
  override readonly name = 'PeerNotReadyError'
  constructor(readonly peerId: string) {
    super(`peer ${peerId} is not ready: await mesh.ready(), listen for peer:ready, or use a reliable channel to queue until it is`)
  }
}

/** A request got no answer in time. */
export class RequestTimeoutError extends Error {
  override readonly name = 'RequestTimeoutError'
  constructor(
    readonly peerId: string,
    readonly channel: string,
    readonly timeoutMs: number,
  ) {
    super(`no answer from ${peerId} on ${channel} within ${timeoutMs} ms`)
  }
}

/** The peer has no responder for the channel. */
export class NoResponderError extends Error {
  override readonly name = 'NoResponderError'
  constructor(
    readonly peerId: string,
    readonly channel: string,
  ) {
    super(`${peerId} has no responder for ${channel}: it must call mesh.respond('${channel}', handler)`)
  }
}

/** The peer's responder threw. */
export class RemoteHandlerError extends Error {
  override readonly name = 'RemoteHandlerError'
  constructor(
    readonly peerId: string,
    readonly channel: string,
    readonly remoteMessage: string,
  ) {
    super(`the responder of ${peerId} for ${channel} failed: ${remoteMessage}`)
  }
}

/** The connection to the peer closed while a request waited for its answer. */
export class RequestInterruptedError extends Error {
  override readonly name = 'RequestInterruptedError'
  constructor(
    readonly peerId: string,
    readonly channel: string,
  ) {
    super(`the connection to ${peerId} closed before it answered on ${channel}`)
  }
}

/** A reliable channel's outbox for a peer is full (the peer is away or not reading). */
export class OutboxFullError extends Error {
  override readonly name = 'OutboxFullError'
  constructor(
    readonly peerId: string,
    readonly channel: string,
    readonly messages: number,
    readonly bytes: number,
  ) {
    super(`the reliable outbox for ${peerId}/${channel} is full (${messages} messages, ${bytes} bytes waiting for acknowledgement)`)
  }
}

/** `broadcast(..., { asLeader: true })` on a device that does not lead. */
export class NotLeaderError extends Error {
  override readonly name = 'NotLeaderError'
  constructor() {
    super('this device does not lead: only the leader can send leader messages (await mesh.becomeLeader() first)')
  }
}
