/**
 * Reliable delivery over connections that come and go: the sender keeps every
 * message until the receiver acknowledges it and retransmits after a
 * reconnect; the receiver delivers each message id once, in order. Exactly
 * once per peer while both processes live (a restarted process starts a new
 * sequence: its outbox died with it).
 */
import { OutboxFullError } from './errors.js'

interface Entry {
  id: number
  bytes: Uint8Array
  at: number
}

export interface OutboxLimits {
  maxMessages: number
  maxBytes: number
  maxAgeMs: number
}

/** Sender side, per (peer, channel). */
export class Outbox {
  private entries: Entry[] = []
  private head = 0
  private bytes = 0
  private nextId = 1

  constructor(
    readonly peerId: string,
    readonly channel: string,
    private readonly limits: OutboxLimits,
  ) {}

  get size(): { messages: number; bytes: number } {
    return { messages: this.entries.length - this.head, bytes: this.bytes }
  }

  /** Adds a message; `build(id)` makes its bytes. Throws {@link OutboxFullError}. */
  add(build: (id: number) => Uint8Array, now: number): Entry {
    const { messages, bytes } = this.size
    if (messages >= this.limits.maxMessages || bytes >= this.limits.maxBytes) throw new OutboxFullError(this.peerId, this.channel, messages, bytes)
    const id = this.nextId++
    const entry = { id, bytes: build(id), at: now }
    this.entries.push(entry)
    this.bytes += entry.bytes.length
    return entry
  }

  /** The receiver has everything up to and including `id`. */
  ack(id: number): void {
    while (this.head < this.entries.length && this.entries[this.head]!.id <= id) {
      this.bytes -= this.entries[this.head]!.bytes.length
      this.head++
    }
    this.compact()
  }

  /** Everything not acknowledged, oldest first (to retransmit after a reconnect). */
  pending(): Entry[] {
    return this.entries.slice(this.head)
  }

  /** Drops messages older than the age limit; returns them. */
  expire(now: number): Entry[] {
    const dropped: Entry[] = []
    while (this.head < this.entries.length && now - this.entries[this.head]!.at > this.limits.maxAgeMs) {
      const e = this.entries[this.head++]!
      this.bytes -= e.bytes.length
      dropped.push(e)
    }
    this.compact()
    return dropped
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head)
      this.head = 0
    }
  }
}

/** Receiver side, per (peer session, channel). */
export class Inbox {
  /** Highest id delivered with every earlier one delivered too. */
  delivered = 0
  /** Ids that arrived ahead of a gap, waiting for it to fill (retransmission). */
  private readonly early = new Map<number, () => void>()
  /** Delivered since the last acknowledgement. */
  unacked = 0

  /**
   * Handles message `id`; `deliver` is called for it (now or once the gap
   * before it fills) unless it is a duplicate. Returns what happened.
   */
  accept(id: number, deliver: () => void): 'delivered' | 'duplicate' | 'early' {
    if (id <= this.delivered || this.early.has(id)) return 'duplicate'
    if (id !== this.delivered + 1) {
      this.early.set(id, deliver)
      return 'early'
    }
    deliver()
    this.delivered = id
    this.unacked++
    for (let next = this.early.get(this.delivered + 1); next !== undefined; next = this.early.get(this.delivered + 1)) {
      this.early.delete(this.delivered + 1)
      next()
      this.delivered++
      this.unacked++
    }
    return 'delivered'
  }
}
