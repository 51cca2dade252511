/**
 * Types shared by the state machine, the codec and the driver.
 */

/**
 * `availability` (default): every connected component of the mesh has a
 * leader, always. `quorum`: a leader needs acknowledgements from a majority of
 * the roster and steps down when it loses contact with a majority, so a
 * minority partition has no leader (safety over availability).
 */
export type ElectionMode = 'availability' | 'quorum'

/** Where this device stands. */
export type ElectionRole = 'leader' | 'follower' | 'candidate' | 'none'

/**
 * The leader as this device sees it.
 * - `leader`: this device leads `term` (`id` is its own id);
 * - `follower`: `id` leads `term` and has confirmed it (its heartbeat arrived);
 * - `candidate`: this device claimed `term` and waits for acknowledgements;
 * - `none`: no live leader is known (`id` undefined).
 */
export interface LeaderView {
  id: string | undefined
  term: number
  role: ElectionRole
}

/**
 * "`leader` leads `term`", signed by the leader's device key. The state machine
 * never creates or checks signatures: the driver signs this device's own claims
 * on the way out (they carry no `signature` inside) and verifies others' claims
 * before they reach the state machine.
 */
export interface Claim {
  term: number
  leader: string
  /** Signature over `claimSigningBytes(context, term, leader)`; absent on this device's own claims. */
  signature?: Uint8Array
  /** What lets a device that never met the leader verify the signature (meshkit: the leader's group credential). */
  proof?: Uint8Array
}

/** What a device keeps across restarts. */
export interface ElectionState {
  /** Highest term seen. Never decreases. */
  term: number
  /** The claim this device accepted in `term` (its own when it claimed). At most one per term. */
  vote?: Claim
  /** Quorum mode: every device known to belong to the mesh (this one included). */
  roster?: string[]
}

/** The election part of a peer's hello, decoded (and its claim verified) by the driver. */
export interface PeerHello {
  /** Protocol version of the peer's election. */
  version: number
  /** The peer's term. */
  term: number
  /** The peer's role when it sent the hello. */
  role: ElectionRole
  /** The peer's priority (higher leads first). */
  priority: number
  /** The claim the peer accepted in `term`, when it has one. */
  claim?: Claim
  /** The peer's roster (quorum mode). */
  roster?: string[]
}

/** Messages between election peers (see PROTOCOL.md section 8). */
export type ElectionMessage = ClaimMessage | AckMessage | HeartbeatMessage | HandoverMessage

/** A claim, sent by the claimant to every peer, or relayed by anyone as an answer (`reply`). */
export interface ClaimMessage {
  kind: 'claim'
  claim: Claim
  /** An answer or a forward: never answered itself (no ping-pong). */
  reply: boolean
  /**
   * The sender knows this claim's leader no longer leads it (the sender gave
   * up its own claim, or lost that leader). A leader or candidate facing an
   * abandoned rival of its own term moves to the next term whatever the ids.
   */
  abandoned?: boolean
  /**
   * Sent by the leader itself while it leads this term (a claim re-sent to a
   * peer that has not acknowledged it, or a leader moving to the next term):
   * counts as its heartbeat too.
   */
  leading?: boolean
}

/** "I accept `leader` for `term`", sent to the leader. */
export interface AckMessage {
  kind: 'ack'
  term: number
  leader: string
}

/** "I still lead `term`", from the leader. Fences: receivers drop lower terms. */
export interface HeartbeatMessage {
  kind: 'heartbeat'
  term: number
}

/** "I stop leading `term`; `successor` should claim next" (no successor: the leader resigns). */
export interface HandoverMessage {
  kind: 'handover'
  term: number
  successor?: string
}

/** Why a follower stopped following its leader. */
export type LeaderLostReason =
  /** The connection to the leader closed. */
  | 'disconnected'
  /** The leader's heartbeats stopped while the connection stayed up. */
  | 'heartbeat-timeout'
  /** The leader we learned of never connected (or restarted without its leadership). */
  | 'absent'
  /** The leader stepped down and named a successor. */
  | 'handover'
  /** The leader stepped down without a successor (quorum lost, or alone). */
  | 'resigned'
