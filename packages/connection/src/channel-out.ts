/**
 * The sending half of a channel. One {@link OutboundChannel} per (peer,
 * channel) keeps the queue and the message sequence; it writes through one
 * long-lived stream per connection ({@link ChannelWriter}), opened on first use
 * and reused for every message. A writer may only have as many bytes in flight
 * as the receiver granted (credit); `send()` resolves when its message got
 * credit and was handed to the transport, so awaiting it follows the
 * receiver's pace.
 */
import type { Logger } from '@meshkit/log'
import { decodeVarintPayload, encodeFrame, FrameDecoder, FrameType, frameSize, MAX_FRAME_OVERHEAD } from './codec.js'
import { ConnectionClosedError, MessageTooLargeError, SendQueueFullError, UnknownFrameTypeError, WouldBlockError, type ProtocolError } from './errors.js'
import { FramedStream } from './framed-stream.js'
import type { CloseReason } from './reasons.js'
import type { Session } from './session.js'

const encoder = new TextEncoder()
const RESOLVED: Promise<void> = Promise.resolve()

/** One outbound channel stream on one connection. */
export class ChannelWriter {
  private framed: FramedStream | undefined
  private credit: number
  private failed = false
  readonly ready: Promise<void>

  constructor(
    readonly session: Session,
    readonly channel: string,
    /** Sequence number of the first message this stream will carry. */
    readonly firstSeq: number,
    private readonly onCredit: () => void,
    private readonly onStreamOpened: () => void,
  ) {
    this.credit = session.remote.windowBytes
    this.ready = this.open()
  }

  private async open(): Promise<void> {
    const stream = await this.session.openChannelStream()
    this.onStreamOpened()
    this.framed = new FramedStream(stream, new FrameDecoder(MAX_FRAME_OVERHEAD + 8, new Set([FrameType.Credit]), `channel ${this.channel} (outbound)`), {
      onFrame: (frame) => {
        if (frame.type !== FrameType.Credit) {
          this.session.protocolError(new UnknownFrameTypeError(frame.type, `channel ${this.channel} (outbound)`))
          return
        }
        try {
          this.credit += decodeVarintPayload(frame.payload)
        } catch (err) {
          this.session.protocolError(err as ProtocolError)
          return
        }
        this.onCredit()
      },
      onEnd: () => {
        this.failed = true
        this.onCredit()
      },
      onError: (err) => this.session.protocolError(err as ProtocolError),
    })
    this.framed.write(encodeFrame(FrameType.Open, this.firstSeq, encoder.encode(this.channel)))
  }

  /** Whether the stream is open (the OPEN frame went out). */
  get isOpen(): boolean {
    return this.framed !== undefined
  }

  /** Whether a frame of `size` bytes may be written now. */
  canWrite(size: number): boolean {
    return this.credit >= size && this.framed !== undefined && !this.failed && this.framed.writable
  }

  get usable(): boolean {
    return !this.failed && this.session.state === 'active' && (this.framed === undefined || this.framed.writable)
  }

  /** Writes a DATA frame of `size` wire bytes (the caller checked `canWrite(size)`). */
  writeData(seq: number, payload: Uint8Array, size: number): void {
    this.credit -= size
    this.framed!.writeFrame(FrameType.Data, seq, payload, size)
  }

  /** Flushes what was written and closes our side (FIN); the receiver reads it all. */
  async finish(): Promise<void> {
    try {
      await this.ready
    } catch {
      return
    }
    await this.framed?.closeWrite()
  }

  abort(error: Error): void {
    this.failed = true
    this.framed?.abort(error)
  }
}

interface Pending {
  payload: Uint8Array
  resolve: () => void
  reject: (error: Error) => void
  signal: AbortSignal | undefined
  onAbort: (() => void) | undefined
}

export interface OutboundLimits {
  maxMessageBytes: number
  maxQueuedBytes: number
}

/** The sending side of one channel to one peer; survives connection swaps. */
export class OutboundChannel {
  private readonly queue: Pending[] = []
  private queuedBytes = 0
  private seq = 0
  private writer: ChannelWriter | undefined
  private session: Session | undefined
  /** The smaller of our and the peer's maximum message size. */
  private maxMessage: number
  messagesSent = 0
  bytesSent = 0

  constructor(
    readonly peerId: string,
    readonly channel: string,
    private readonly limits: OutboundLimits,
    private readonly onStreamOpened: () => void,
    private readonly log: Logger,
  ) {
    this.maxMessage = limits.maxMessageBytes
  }

  /** The connection to write through from now on (new, or the winner of a duplicate). */
  attach(session: Session): void {
    if (this.session === session) return
    this.session = session
    this.maxMessage = Math.min(this.limits.maxMessageBytes, session.remote.maxMessageBytes)
    const old = this.writer
    this.writer = undefined
    // frames already handed to the old stream reach the peer before its FIN;
    // the peer delivers the next stream only after that one ended
    if (old !== undefined) void old.finish()
    this.pump()
  }

  /**
   * The connection stops carrying this channel (closed, or the peer is
   * leaving): queued messages fail; what was already written is finished (FIN)
   * so the peer still reads it. The sequence continues on the next connection.
   */
  detach(reason: CloseReason): void {
    this.session = undefined
    const old = this.writer
    this.writer = undefined
    if (old !== undefined) void old.finish()
    for (const p of this.queue.splice(0)) {
      this.settle(p)
      p.reject(new ConnectionClosedError(this.peerId, reason))
    }
    this.queuedBytes = 0
  }

  /** Writes now if the fast path allows (nothing queued, credit available); false otherwise. */
  trySend(payload: Uint8Array): boolean {
    const writer = this.writer
    if (this.queue.length > 0 || writer === undefined || payload.length > this.maxMessage) return false
    const size = frameSize(this.seq, payload.length)
    if (!writer.canWrite(size)) return false
    writer.writeData(this.seq++, payload, size)
    this.messagesSent++
    this.bytesSent += payload.length
    return true
  }

  send(payload: Uint8Array, signal?: AbortSignal, ifReady = false): Promise<void> {
    const max = this.maxMessage
    if (payload.length > max) return Promise.reject(new MessageTooLargeError(payload.length, max))
    if (signal?.aborted === true) return Promise.reject(signal.reason as Error)
    if (this.session === undefined) return Promise.reject(new ConnectionClosedError(this.peerId, 'transport-closed'))
    // fast path: nothing queued and credit available: write now
    const writer = this.writer
    if (this.queue.length === 0 && writer !== undefined) {
      const size = frameSize(this.seq, payload.length)
      if (writer.canWrite(size)) {
        writer.writeData(this.seq++, payload, size)
        this.messagesSent++
        this.bytesSent += payload.length
        return RESOLVED
      }
    }
    // not writable now: a backlog, or no credit on an open stream (a stream still opening does not count)
    if (ifReady && (this.queue.length > 0 || writer?.isOpen === true)) return Promise.reject(new WouldBlockError(this.peerId, this.channel))
    if (this.queuedBytes + payload.length > this.limits.maxQueuedBytes) return Promise.reject(new SendQueueFullError(this.peerId, this.channel, this.queuedBytes))
    return new Promise<void>((resolve, reject) => {
      const pending: Pending = { payload, resolve, reject, signal, onAbort: undefined }
      if (signal !== undefined) {
        pending.onAbort = () => {
          const index = this.queue.indexOf(pending)
          if (index >= 0) {
            this.queue.splice(index, 1)
            this.queuedBytes -= payload.length
            reject(signal.reason as Error)
          }
        }
        signal.addEventListener('abort', pending.onAbort, { once: true })
      }
      this.queue.push(pending)
      this.queuedBytes += payload.length
      this.pump()
    })
  }

  get queued(): { messages: number; bytes: number } {
    return { messages: this.queue.length, bytes: this.queuedBytes }
  }

  private settle(p: Pending): void {
    if (p.onAbort !== undefined) p.signal?.removeEventListener('abort', p.onAbort)
  }

  /** Moves queued messages into the stream as far as credit allows. */
  private pump(): void {
    const session = this.session
    if (this.queue.length === 0 || session === undefined || session.state !== 'active') return
    if (this.writer === undefined || !this.writer.usable) {
      const writer = new ChannelWriter(session, this.channel, this.seq, () => this.pump(), this.onStreamOpened)
      this.writer = writer
      writer.ready.then(
        () => this.pump(),
        (err: unknown) => {
          this.log('could not open channel %s to %s: %s', this.channel, this.peerId, (err as Error).message)
          if (this.writer === writer) this.writer = undefined
          // the connection is closing; its close handler settles the queue
        },
      )
      return
    }
    const writer = this.writer
    while (this.queue.length > 0) {
      const next = this.queue[0]!
      const size = frameSize(this.seq, next.payload.length)
      if (!writer.canWrite(size)) break
      this.queue.shift()
      this.queuedBytes -= next.payload.length
      writer.writeData(this.seq, next.payload, size)
      this.seq++
      this.messagesSent++
      this.bytesSent += next.payload.length
      this.settle(next)
      next.resolve()
    }
  }
}
