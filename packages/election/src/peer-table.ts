/**
 * What the state machine knows about each peer (connected, priority,
 * acknowledgements, suspicion), and the counts its rules need: who has not
 * acknowledged, who can be ranked, how much of the roster is reachable.
 */
import type { Candidate } from './rules.js'

export interface PeerState {
  connected: boolean
  priority: number
  /** The term of ours this peer acknowledged last (0: none). */
  acked: number
  /** When it last acknowledged our claim or heartbeat. */
  lastAck: number
  /**
   * Unresponsive: our leader whose heartbeats stopped, or a peer that left our
   * claim unanswered. Left out of waits and rankings until it speaks again or a
   * new leader is adopted.
   */
  suspect: boolean
}

export class PeerTable {
  private readonly peers = new Map<string, PeerState>()

  /** The peer's state, created on first mention (a message can precede its peer-up). */
  get(id: string): PeerState {
    let p = this.peers.get(id)
    if (p === undefined) {
      p = { connected: false, priority: 0, acked: 0, lastAck: -Infinity, suspect: false }
      this.peers.set(id, p)
    }
    return p
  }

  find(id: string): PeerState | undefined {
    return this.peers.get(id)
  }

  isConnected(id: string): boolean {
    return this.peers.get(id)?.connected === true
  }

  connectedIds(): string[] {
    const ids: string[] = []
    for (const [id, p] of this.peers) if (p.connected) ids.push(id)
    return ids
  }

  /** Connected, responsive peers as successor candidates. */
  candidates(): Candidate[] {
    const list: Candidate[] = []
    for (const [id, p] of this.peers) if (p.connected && !p.suspect) list.push({ id, priority: p.priority })
    return list
  }

  /** Connected, responsive peers that have not acknowledged `term` (sorted). */
  unacked(term: number): string[] {
    const ids: string[] = []
    for (const [id, p] of this.peers) if (p.connected && !p.suspect && p.acked !== term) ids.push(id)
    return ids.sort()
  }

  clearSuspects(): void {
    for (const p of this.peers.values()) p.suspect = false
  }

  /** Roster members among the connected, responsive peers. */
  reachableIn(roster: ReadonlySet<string>): number {
    let n = 0
    for (const [id, p] of this.peers) if (p.connected && !p.suspect && roster.has(id)) n++
    return n
  }

  /** Roster members that acknowledged `term`. */
  ackedIn(roster: ReadonlySet<string>, term: number): number {
    let n = 0
    for (const [id, p] of this.peers) if (p.acked === term && roster.has(id)) n++
    return n
  }

  /** Roster members connected and heard from (an acknowledgement) since `horizon`. */
  inContact(roster: ReadonlySet<string>, horizon: number): number {
    let n = 0
    for (const [id, p] of this.peers) if (p.connected && p.lastAck >= horizon && roster.has(id)) n++
    return n
  }

  list(): Array<{ id: string; connected: boolean; priority: number; acked: number; suspect: boolean }> {
    return [...this.peers].map(([id, p]) => ({ id, connected: p.connected, priority: p.priority, acked: p.acked, suspect: p.suspect }))
  }
}
