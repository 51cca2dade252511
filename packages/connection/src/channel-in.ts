/**
 * The receiving half of a channel. Each inbound channel stream is read by a
 * {@link ChannelReader}, which enforces the credit window it granted and
 * returns credit as the app consumes messages. One {@link InboundChannel} per
 * (peer, channel) delivers the messages of all its streams in the sender's
 * order: a stream announces the sequence number of its first message (OPEN),
 * and a stream is delivered only once the one before it has ended. Messages
 * are handed to the channel's handler one at a time; a handler that returns a
 * promise holds the next message (and the credit) until it settles, so a slow
 * consumer slows the sender instead of growing memory.
 */
import type { Logger } from '@meshkit/log'
import { encodeFrame, encodeVarintPayload, FrameDecoder, FrameType, maxBodyFor, type Frame } from './codec.js'
import { FlowControlError, MalformedFrameError, UnknownFrameTypeError, type ProtocolError } from './errors.js'
import type { FramedStream } from './framed-stream.js'
import type { Session } from './session.js'

/** A message delivered to the app. */
export interface ChannelMessage {
  peerId: string
  channel: string
  /** Sequence number of the message within (sender session, channel). */
  seq: number
  payload: Uint8Array
}

export type ChannelHandler = (message: ChannelMessage) => void | Promise<void>

/** FIFO with O(1) shift (Array.prototype.shift is linear on large arrays). */
class Queue<T> {
  private items: T[] = []
  private head = 0

  get length(): number {
    return this.items.length - this.head
  }

  push(item: T): void {
    this.items.push(item)
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined
    const item = this.items[this.head]
    this.items[this.head++] = undefined as T
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return item
  }
}


/** Reads one inbound channel stream. */
export class ChannelReader {
  /** Received DATA frames not yet delivered (the frame's id is the message's sequence number). */
  readonly messages = new Queue<Frame>()
  ended = false
  private framed: FramedStream
  private received = 0
  private granted: number
  private consumedSinceCredit = 0
  private lastSeq = -1

  constructor(
    readonly session: Session,
    framed: FramedStream,
    readonly channel: string,
    readonly firstSeq: number,
    leftover: Frame[],
    private readonly window: number,
    private readonly onChange: () => void,
  ) {
    this.granted = window
    this.lastSeq = firstSeq - 1
    this.framed = framed
    framed.setHandlers({
      onFrame: (frame) => this.onFrame(frame),
      onEnd: () => {
        this.ended = true
        // the sender finished: everything it sent is here, close our (credit) side
        this.finish()
        this.onChange()
      },
      onError: (err) => this.fail(err as ProtocolError),
    })
    for (const frame of leftover) this.onFrame(frame)
  }

  private fail(error: ProtocolError): void {
    this.ended = true
    this.session.protocolError(error)
    this.onChange()
  }

  private onFrame(frame: Frame): void {
    if (this.ended) return
    if (frame.type !== FrameType.Data) {
      this.fail(new UnknownFrameTypeError(frame.type, `channel ${this.channel} after OPEN`))
      return
    }
    this.received += frame.wireBytes
    if (this.received > this.granted) {
      this.fail(new FlowControlError(this.received - (this.granted - this.window), this.window))
      return
    }
    if (frame.id <= this.lastSeq) {
      this.fail(new MalformedFrameError(`message ${frame.id} on channel ${this.channel} is not after ${this.lastSeq}`))
      return
    }
    this.lastSeq = frame.id
    this.messages.push(frame)
    this.onChange()
  }

  /** The app consumed `wireBytes`; grant them back once a quarter window has accumulated. */
  consumed(wireBytes: number): void {
    this.consumedSinceCredit += wireBytes
    if (this.consumedSinceCredit >= this.window / 4 && this.framed.writable) {
      this.framed.write(encodeFrame(FrameType.Credit, 0, encodeVarintPayload(this.consumedSinceCredit)))
      this.granted += this.consumedSinceCredit
      this.consumedSinceCredit = 0
    }
  }

  /** Closes our (credit) side once the peer ended its side. */
  finish(): void {
    void this.framed.closeWrite()
  }

  /** Which connection the stream belongs to. */
  get sessionId(): string {
    return this.session.id
  }
}

/** Delivers one channel of one peer, in order, across connections. */
export class InboundChannel {
  private readers: ChannelReader[] = []
  private current: ChannelReader | undefined
  private nextSeq: number | undefined
  private delivering = false
  messagesReceived = 0
  bytesReceived = 0

  constructor(
    readonly peerId: string,
    readonly channel: string,
    private readonly handlerFor: (channel: string) => ChannelHandler | undefined,
    /** Sessions of the peer still open (their streams may still bring earlier messages). */
    private readonly openSessions: () => number,
    private readonly onHandlerError: (error: unknown, message: ChannelMessage) => void,
    private readonly log: Logger,
  ) {}

  /** Accepts a new inbound stream whose OPEN frame named this channel. */
  addStream(session: Session, framed: FramedStream, open: Frame, leftover: Frame[], window: number): void {
    const reader = new ChannelReader(session, framed, this.channel, open.id, leftover, window, () => this.kick())
    this.readers.push(reader)
    this.kick()
  }

  /** Something changed (a message, a stream end, a handler registered, a session closed). */
  kick(): void {
    if (this.delivering) return
    this.delivering = true
    // Deliver on a microtask: never re-enter the frame parser of a stream.
    queueMicrotask(() => {
      void this.deliver().finally(() => {
        this.delivering = false
        if (this.hasDeliverable()) this.kick()
      })
    })
  }

  private hasDeliverable(): boolean {
    this.advance()
    return this.current !== undefined && this.current.messages.length > 0 && this.handlerFor(this.channel) !== undefined
  }

  /** Picks the stream to deliver from: the one continuing the sequence. */
  private advance(): void {
    const current = this.current
    if (current !== undefined) {
      if (!current.ended || current.messages.length > 0) return
      current.finish()
      this.readers = this.readers.filter((r) => r !== current)
      this.current = undefined
    }
    // drop streams that ended empty
    for (const r of this.readers) if (r.ended && r.messages.length === 0) r.finish()
    this.readers = this.readers.filter((r) => !(r.ended && r.messages.length === 0))
    if (this.readers.length === 0) return
    const next = this.nextSeq === undefined ? undefined : this.readers.find((r) => r.firstSeq === this.nextSeq)
    if (next !== undefined) {
      this.current = next
      return
    }
    // No stream continues the sequence. If another connection could still bring
    // it, wait; otherwise those messages died with their connection: skip the gap.
    const sessionsWithReaders = new Set(this.readers.map((r) => r.session))
    if (this.nextSeq === undefined || this.openSessions() <= sessionsWithReaders.size) {
      this.current = this.readers.reduce((a, b) => (b.firstSeq < a.firstSeq ? b : a))
      if (this.nextSeq !== undefined && this.current.firstSeq > this.nextSeq) {
        this.log('channel %s from %s: messages %d..%d were lost with a closed connection', this.channel, this.peerId, this.nextSeq, this.current.firstSeq - 1)
      }
    }
  }

  private async deliver(): Promise<void> {
    for (;;) {
      if (this.current === undefined || this.current.messages.length === 0) this.advance()
      const reader = this.current
      const handler = this.handlerFor(this.channel)
      if (reader === undefined || handler === undefined) return
      const next = reader.messages.shift()
      if (next === undefined) return
      this.nextSeq = next.id + 1
      this.messagesReceived++
      this.bytesReceived += next.payload.length
      const message: ChannelMessage = { peerId: this.peerId, channel: this.channel, seq: next.id, payload: next.payload }
      try {
        const result = handler(message)
        if (result !== undefined && typeof (result as Promise<void>).then === 'function') await result
      } catch (err) {
        this.onHandlerError(err, message)
      }
      reader.consumed(next.wireBytes)
    }
  }

  /** Messages received but not yet handed to the app. */
  get backlog(): number {
    return this.readers.reduce((n, r) => n + r.messages.length, 0)
  }
}

/** The decoder for a new inbound channel stream. */
export function channelDecoder(maxMessageBytes: number, channel = '?'): FrameDecoder {
  return new FrameDecoder(maxBodyFor(maxMessageBytes), new Set([FrameType.Open, FrameType.Data]), `channel ${channel} (inbound)`)
}
