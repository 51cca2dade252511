/**
 * Defaults of @meshkit/election. Every timing is overridable through
 * `ElectionInit`; see the README's "Timing and the failover budget".
 *
 * Budget for a crashed leader on a LAN (target: p50 <= 1.5 s, p95 <= 2 s until
 * every survivor reports the same new leader):
 *
 * 1. detection: the connection layer reports the peer down when QUIC's idle
 *    timeout fires (1 s, keepalive 250 ms: 0.75-1.0 s after the crash), and
 *    independently the followers stop hearing heartbeats
 *    ({@link DEFAULT_HEARTBEAT_INTERVAL_MS} apart) and give up after
 *    {@link DEFAULT_HEARTBEAT_TIMEOUT_MS}: also 0.75-1.0 s after the crash.
 *    Both fire at almost the same moment on every survivor, since they all
 *    heard the same last heartbeat.
 * 2. the successor (rank 0) claims at once; the others wait their rank times
 *    {@link DEFAULT_SUCCESSOR_TIMEOUT_MS}, so exactly one claim goes out.
 * 3. claim, acknowledgements, first heartbeat: 1.5 round trips plus one
 *    durable write of the term on each side (a few ms).
 *
 * Total ~0.8-1.05 s. When the successor is dead too, its own disconnection is
 * reported within the same second and the next rank claims at that moment.
 */

/** Version of the election messages and hello extension (PROTOCOL.md section 8). */
export const ELECTION_PROTOCOL_VERSION = 1

/** The connection-layer channel the election's messages travel on. */
export const ELECTION_CHANNEL = '$election'

/** Key of the election's entry in the connection hello's extension map (`x`). */
export const ELECTION_HELLO_EXTENSION = 'election'

/** Record name used by {@link identityElectionStore} in the identity store. */
export const DEFAULT_STORE_RECORD = 'election'

/** Domain separator of the signed bytes of a claim (see `claimSigningBytes`). */
export const CLAIM_SIGNING_DOMAIN = 'meshkit/election/claim/v1'

/** The leader sends a heartbeat (and re-sends its claim to peers that have not acknowledged it) this often. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 250

/**
 * A follower that has not heard its leader for this long treats it as gone
 * (even while the connection looks alive: a hung process). Four heartbeats.
 * Also how long a claimant waits for a connected peer's acknowledgement before
 * it treats that peer as unresponsive and leads without it (availability mode);
 * a follower that accepted a claim gives the claimant twice this to confirm.
 */
export const DEFAULT_HEARTBEAT_TIMEOUT_MS = 1_000

/**
 * Failover stagger: after the leader is lost, the survivor of rank k (by
 * priority, then device id) claims k times this long after it noticed, unless
 * a new leader appeared first. Must exceed the spread between survivors'
 * detection times plus a claim's round trip.
 */
export const DEFAULT_SUCCESSOR_TIMEOUT_MS = 500

/**
 * A mesh without a leader elects one once membership has been quiet this long
 * (so that devices booting together elect among all of them, not the first pair).
 */
export const DEFAULT_QUIET_PERIOD_MS = 500

/** Upper bound on the quiet wait while devices keep joining and leaving. */
export const DEFAULT_MAX_QUIET_MS = 3_000

/**
 * A follower that learned of a leader it is not connected to (from a hello, or
 * after a restart) waits this long for the connection before treating the
 * leader as gone. Covers the connection layer's dial grace (400 ms) and a dial.
 */
export const DEFAULT_LEADER_ABSENT_GRACE_MS = 1_000

/** Default deadline of `becomeLeader()`. */
export const DEFAULT_TAKEOVER_TIMEOUT_MS = 2_000

/** Default deadline of `stepDown()` (until a new leader has claimed). */
export const DEFAULT_STEP_DOWN_TIMEOUT_MS = 2_000

/**
 * A device that stepped down does not put itself forward again for this long,
 * so the handover cannot bounce back to it.
 */
export const DEFAULT_STEP_DOWN_HOLD_MS = 2_000

/** How long `stop()` of a leader waits for its successor's claim before it closes anyway. */
export const DEFAULT_STOP_HANDOVER_MS = 250

/** Priority of a device that sets none. Higher priorities lead first. */
export const DEFAULT_PRIORITY = 0

/** Largest election message or hello extension accepted, in bytes. */
export const MAX_ELECTION_MESSAGE_BYTES = 8 * 1024

/**
 * Largest term accepted from a peer or claimed (2^48). Honest devices never get
 * near it (a claim per millisecond for 8,900 years); the bound keeps term + 1
 * an exact integer whatever a peer sends.
 */
export const MAX_TERM = 2 ** 48

/** Longest device id accepted in election messages. */
export const MAX_ID_LENGTH = 128

/** Largest signature and proof accepted in a claim, in bytes. */
export const MAX_SIGNATURE_BYTES = 256
export const MAX_PROOF_BYTES = 1024

/** Largest roster carried in a hello or persisted. */
export const MAX_ROSTER_SIZE = 256

/** Verified claims remembered so that relays and retransmissions are not verified again. */
export const VERIFIED_CLAIM_CACHE_SIZE = 256
