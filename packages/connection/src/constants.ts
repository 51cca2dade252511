/**
 * Defaults of @meshkit/connection, tuned for devices on one LAN. Every value is
 * overridable through `ConnectionLayerInit`.
 */

/** Version of the meshkit wire protocol spoken in the hello (PROTOCOL.md). */
export const PROTOCOL_VERSION = 1
/** Oldest protocol version this build still accepts. */
export const MIN_PROTOCOL_VERSION = 1

/** libp2p protocol id of the control stream (hello, heartbeats, goodbye). */
export const CONTROL_PROTOCOL = '/meshkit/control/1.0.0'
/** libp2p protocol id of channel streams. */
export const CHANNEL_PROTOCOL = '/meshkit/channel/1.0.0'

/** Largest application message (payload) accepted on a channel, both ways. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024
/**
 * Bytes a receiver lets a sender have in flight per channel stream before the
 * sender must wait for credit (receive-side flow control). Must be at least
 * the largest frame.
 */
export const DEFAULT_WINDOW_BYTES = 4 * 1024 * 1024
/** Bytes queued per channel, beyond the window, before `send()` fails with `SendQueueFullError`. */
export const DEFAULT_MAX_QUEUED_BYTES = 16 * 1024 * 1024
/** Largest write handed to the transport at once when coalescing frames. */
export const MAX_COALESCED_WRITE_BYTES = 1024 * 1024

/** Largest hello accepted. */
export const MAX_HELLO_BYTES = 16 * 1024
/** A connection that has not completed the hello within this time is closed (`hello-timeout`). */
export const DEFAULT_HELLO_TIMEOUT_MS = 3_000
/** Connections in their hello beyond this number: the oldest is closed (`overload`). Flood protection. */
export const DEFAULT_MAX_PENDING_CONNECTIONS = 64

/**
 * The larger id of a pair waits this long for the smaller one to dial before it
 * dials too (discovery can be one-sided).
 */
export const DEFAULT_DIAL_GRACE_MS = 400
/** A dial attempt that has not produced a connection by then is abandoned and retried. */
export const DEFAULT_DIAL_TIMEOUT_MS = 5_000
/** First reconnect delay; doubles per failed attempt, randomized x1-x2, capped at the maximum. */
export const DEFAULT_RECONNECT_MIN_MS = 100
/** Cap of the reconnect delay. */
export const DEFAULT_RECONNECT_MAX_MS = 5_000

/**
 * QUIC idle timeout: a peer silent for this long is gone. With keepalives every
 * {@link DEFAULT_KEEPALIVE_MS} a killed peer is noticed within ~0.75-1.0 s.
 * The transport's default (10 s) is far too slow for a LAN.
 */
export const DEFAULT_IDLE_TIMEOUT_MS = 1_000
/** QUIC keepalive interval (sent by the transport's native thread, independent of the JS event loop). */
export const DEFAULT_KEEPALIVE_MS = 250
/**
 * Application heartbeat (PING on the control stream; measures RTT). Crashes are
 * noticed by QUIC's idle timeout, not by this; every 2 s keeps a quiet mesh of
 * 30 devices from spending a fifth of its idle CPU on pings (`pnpm bench idle`).
 */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 2_000
/**
 * A connection whose control stream has been silent this long is closed
 * (`heartbeat-timeout`): catches a peer whose process hangs while its QUIC
 * stack still answers keepalives.
 */
export const DEFAULT_HEARTBEAT_TIMEOUT_MS = 4_000
/** How long a connection that lost the duplicate decision may take to drain before it is aborted. */
export const DUPLICATE_DRAIN_TIMEOUT_MS = 3_000

/** Channel names: 1-64 characters of letters, digits and `. _ - : /`. Names starting with `$` are meshkit's own. */
export const CHANNEL_NAME_PATTERN = /^[A-Za-z0-9._:/-]{1,64}$/
