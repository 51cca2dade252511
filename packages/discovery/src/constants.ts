/**
 * Defaults of @meshkit/discovery. Timing is chosen for one LAN: a new peer is
 * seen within milliseconds, a crashed one expires within 10 s, and 30% packet
 * loss still converges.
 */

/** DNS-SD service type browsed and advertised by default (`_<app>._udp` with `app: 'meshkit'`). */
export const DEFAULT_SERVICE_TYPE = '_meshkit._udp'
/** mDNS multicast group (IPv4) and port. */
export const MDNS_IPV4 = '224.0.0.251'
export const MDNS_IPV6 = 'ff02::fb'
export const MDNS_PORT = 5353

/**
 * TTL (seconds) of every record we advertise. A crashed peer's records expire
 * this long after its last announcement, so a crash is reported within
 * ~TTL + one announcement interval (target: 10 s).
 */
export const RECORD_TTL_S = 8
/** Interval between unsolicited re-announcements of our records (ms), jittered by ±20%. */
export const ANNOUNCE_INTERVAL_MS = 2_000
/** At start: re-announce after these delays (ms) as well, to reach peers that missed the first one. */
export const STARTUP_ANNOUNCE_MS = [150, 500, 1_000] as const
/** Browse queries: first at start, then at these delays (ms), then every {@link QUERY_INTERVAL_MS}, jittered by ±20%. */
export const STARTUP_QUERY_MS = [250, 1_000] as const
export const QUERY_INTERVAL_MS = 3_000
/** A peer not refreshed by this fraction of its TTL is asked for directly (RFC 6762 §5.2-style refresh). */
export const REFRESH_AT = [0.5, 0.75] as const
/** Answers to queries wait a random 0..this many ms, so N peers do not answer in the same instant. */
export const RESPONSE_JITTER_MS = 15
/** How often the interface list is checked for new, removed or readdressed interfaces (ms). */
export const INTERFACE_POLL_MS = 2_000
/** Largest TXT value we accept (bytes). DNS limits a TXT string to 255 bytes. */
export const MAX_TXT_VALUE_BYTES = 255
/**
 * Goodbyes (our records with TTL 0) are sent this many times on stop, this far
 * apart, so one lost packet does not turn a graceful leave into an 8 s expiry.
 */
export const GOODBYE_REPEATS = 5
export const GOODBYE_SPACING_MS = 15
/**
 * Largest query we send (bytes; RFC 6762 §17 allows mDNS messages up to 9000):
 * known answers beyond it are left out and those peers simply answer. With
 * our names (~85 bytes a known answer) that is ~100 peers. A 1400-byte cap (no
 * IP fragments) was tried: with 30 devices half of them went unsuppressed and
 * their answers slowed discovery.
 */
export const MAX_QUERY_BYTES = 9_000
/** Address records not re-announced within this long of a cache-flush announcement are dropped this long after it (RFC 6762 §10.2). */
export const CACHE_FLUSH_GRACE_MS = 1_000
/** Receive buffer asked for on every mDNS socket (bytes; the OS caps it at net.core.rmem_max). */
export const RECEIVE_BUFFER_BYTES = 1 << 20
