/**
 * Errors of @meshkit/connection: one class per condition, discriminated by
 * `name`. Protocol violations by a peer extend {@link ProtocolError}; they close
 * that peer's connection and never affect others.
 */
import type { CloseReason, RejectReason } from './reasons.js'

/** Base of every violation of the wire protocol by a peer. */
export class ProtocolError extends Error {
  override readonly name: string = 'ProtocolError'
  /** The close reason the connection gets. */
  readonly reason: CloseReason = 'protocol-error'
}

/** A frame's length prefix exceeds the maximum. */
export class FrameTooLargeError extends ProtocolError {
  override readonly name = 'FrameTooLargeError'
  override readonly reason = 'frame-too-large'
  constructor(
    readonly length: number,
    readonly max: number,
  ) {
    super(`frame of ${length} bytes exceeds the maximum of ${max}`)
  }
}

/** Bytes that are not a frame (bad varint, zero length, truncated header...). */
export class MalformedFrameError extends ProtocolError {
  override readonly name = 'MalformedFrameError'
  override readonly reason = 'malformed-frame'
  constructor(detail: string, options?: ErrorOptions) {
    super(`malformed frame: ${detail}`, options)
  }
}

/** A frame type this build does not know, or a known type on the wrong stream. */
export class UnknownFrameTypeError extends ProtocolError {
  override readonly name = 'UnknownFrameTypeError'
  override readonly reason = 'unknown-frame'
  constructor(
    readonly type: number,
    where: string,
  ) {
    super(`unknown frame type 0x${type.toString(16).padStart(2, '0')} on ${where}`)
  }
}

/** A sender exceeded the credit the receiver granted. */
export class FlowControlError extends ProtocolError {
  override readonly name = 'FlowControlError'
  override readonly reason = 'flow-control'
  constructor(
    readonly inFlight: number,
    readonly window: number,
  ) {
    super(`peer has ${inFlight} bytes in flight, beyond the granted window of ${window}`)
  }
}

/** The peer failed the hello: wrong group, impostor, bad credential, version, ... */
export class ConnectionRejectedError extends Error {
  override readonly name = 'ConnectionRejectedError'
  constructor(
    readonly reason: RejectReason,
    detail: string,
    readonly peerId?: string,
    options?: ErrorOptions,
  ) {
    super(`connection rejected (${reason})${peerId !== undefined ? ` for ${peerId}` : ''}: ${detail}`, options)
  }
}

/** `send()` to a peer that has no connection. */
export class PeerNotConnectedError extends Error {
  override readonly name = 'PeerNotConnectedError'
  constructor(readonly peerId: string) {
    super(`peer ${peerId} is not connected: wait for it (mesh.ready / peer:connected) or use a reliable channel`)
  }
}

/** The connection carrying a message closed before the message could be written. */
export class ConnectionClosedError extends Error {
  override readonly name = 'ConnectionClosedError'
  constructor(
    readonly peerId: string,
    readonly reason: CloseReason,
    options?: ErrorOptions,
  ) {
    super(`connection to ${peerId} closed (${reason}) before the message was sent`, options)
  }
}

/** A message larger than the channel's maximum. */
export class MessageTooLargeError extends Error {
  override readonly name = 'MessageTooLargeError'
  constructor(
    readonly size: number,
    readonly max: number,
  ) {
    super(`message of ${size} bytes exceeds the maximum of ${max} bytes: split it, or raise maxMessageBytes on every device`)
  }
}

/** A channel's send queue is full: the peer is not reading and the caller is not awaiting `send()`. */
export class SendQueueFullError extends Error {
  override readonly name = 'SendQueueFullError'
  constructor(
    readonly peerId: string,
    readonly channel: string,
    readonly queuedBytes: number,
  ) {
    super(`send queue for ${peerId}/${channel} is full (${queuedBytes} bytes waiting for the peer to read): await send() to follow its pace`)
  }
}

/** `send(..., { ifReady: true })` when the message cannot be written at once (the peer's window is full). */
export class WouldBlockError extends Error {
  override readonly name = 'WouldBlockError'
  constructor(
    readonly peerId: string,
    readonly channel: string,
  ) {
    super(`${peerId}/${channel} is not reading right now (its window is full); the message was not sent`)
  }
}

/** A channel name that is not allowed. */
export class InvalidChannelNameError extends Error {
  override readonly name = 'InvalidChannelNameError'
  constructor(readonly channel: string) {
    super(`invalid channel name ${JSON.stringify(channel)}: use 1-64 letters, digits or . _ - : / (names starting with $ are reserved)`)
  }
}

/** The layer is not started (or already stopped). */
export class NotStartedError extends Error {
  override readonly name = 'NotStartedError'
  constructor(what: string) {
    super(`${what}: the connection layer is not running (call start() first; it cannot be used after stop())`)
  }
}

/** The QUIC endpoint could not listen (port in use, address not available, ...). */
export class ListenError extends Error {
  override readonly name = 'ListenError'
  constructor(
    readonly address: string,
    options?: ErrorOptions,
  ) {
    super(`cannot listen on ${address}: pick another port or address (is another instance running?)`, options)
  }
}

/** An argument that is not valid (bad address, bad peer id, ...). */
export class InvalidArgumentError extends Error {
  override readonly name = 'InvalidArgumentError'
}
