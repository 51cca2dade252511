/** Defaults of @meshkit/mesh. Every one can be changed through `MeshOptions`. */

/** App name when none is given: service type `_meshkit._udp`. */
export const DEFAULT_APP = 'meshkit'
/** `ready()` gives up after this long. */
export const DEFAULT_READY_TIMEOUT_MS = 10_000
/** `request()` gives up after this long. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 5_000
/** `stop()` is done within about this long: handover, goodbyes, drains. */
export const DEFAULT_STOP_TIMEOUT_MS = 2_000
/** Messages kept for a channel nobody has subscribed to yet, before the sender is slowed down. */
export const DEFAULT_BACKLOG_MESSAGES = 10_000
/** Reliable channels: messages kept per peer until acknowledged. */
export const DEFAULT_OUTBOX_MESSAGES = 200_000
/** Reliable channels: bytes kept per peer until acknowledged. */
export const DEFAULT_OUTBOX_BYTES = 64 * 1024 * 1024
/** Reliable channels: a message not acknowledged within this long is given up (`message:expired`). */
export const DEFAULT_OUTBOX_MAX_AGE_MS = 5 * 60_000
/** Reliable channels: the receiver acknowledges after this many messages... */
export const RELIABLE_ACK_EVERY = 256
/** ...or this long after the first unacknowledged one. */
export const RELIABLE_ACK_DELAY_MS = 10
/** Timeline entries kept per peer (and for the mesh itself). */
export const TIMELINE_ENTRIES = 200
/** The connection-layer channel election messages travel on. */
export const ELECTION_CHANNEL = '$election'
/** Version of the mesh message envelope (PROTOCOL.md section 9). */
export const ENVELOPE_VERSION = 1
