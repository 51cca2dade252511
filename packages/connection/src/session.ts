/**
 * A session: one QUIC connection that completed the hello. It owns the control
 * stream (heartbeats, RTT, goodbye) and knows how to close in each of the ways a
 * connection ends: at once (protocol error, restart), or draining (duplicate,
 * shutdown) so that nothing already written is lost.
 */
import type { Connection, Stream } from '@libp2p/interface'
import { decode, encode } from '@msgpack/msgpack'
import type { Logger } from '@meshkit/log'
import { encodeFrame, FrameType, type Frame } from './codec.js'
import { CHANNEL_PROTOCOL } from './constants.js'
import { UnknownFrameTypeError, type ProtocolError } from './errors.js'
import type { FramedStream } from './framed-stream.js'
import type { Hello, VerifiedHello } from './hello.js'
import { isCloseReason, type CloseReason } from './reasons.js'

export interface SessionTimings {
  heartbeatIntervalMs: number
  heartbeatTimeoutMs: number
  drainTimeoutMs: number
}

export interface SessionEvents {
  /** The connection is gone (any reason). Called once. */
  onClosed: (session: Session, reason: CloseReason, error?: Error) => void
  /** The peer announced this connection is going away (duplicate, shutdown...). */
  onGoAway: (session: Session, reason: CloseReason) => void
  /** A new RTT sample. */
  onRtt: (session: Session, rttMs: number) => void
}

let establishedCounter = 0

export type SessionState = 'active' | 'draining' | 'closed'

export class Session {
  readonly establishedSeq = ++establishedCounter
  readonly establishedAt = Date.now()
  state: SessionState = 'active'
  /** Set when the peer sent GOAWAY. */
  remoteGoAway: CloseReason | undefined
  rttMs: number | undefined
  private closeReason: CloseReason | undefined
  private closeError: Error | undefined
  private lastControlAt = performance.now()
  private heartbeat: ReturnType<typeof setInterval> | undefined
  private drainTimer: ReturnType<typeof setTimeout> | undefined
  /** Streams of this connection whose end the drain waits for. */
  private readonly openStreams = new Set<Stream>()
  private drainCheck: (() => void) | undefined

  constructor(
    readonly conn: Connection,
    readonly local: Hello,
    readonly remote: VerifiedHello,
    readonly control: FramedStream,
    private readonly timings: SessionTimings,
    private readonly events: SessionEvents,
    private readonly log: Logger,
  ) {
    control.setHandlers({
      onFrame: (frame) => this.onControlFrame(frame),
      onEnd: () => {
        // The peer closed its control stream: it is leaving or draining; the
        // connection close that follows reports the reason.
      },
      onError: (err) => this.protocolError(err as ProtocolError),
    })
    conn.addEventListener('close', () => this.onConnectionClosed(), { once: true })
  }

  get id(): string {
    return this.conn.id
  }

  get direction(): 'inbound' | 'outbound' {
    return this.conn.direction
  }

  get peerId(): string {
    return this.remote.id
  }

  /** Starts heartbeats and handles frames that arrived right behind the hello. */
  start(leftover: Frame[]): void {
    if (this.conn.status !== 'open') {
      this.onConnectionClosed()
      return
    }
    for (const frame of leftover) this.onControlFrame(frame)
    this.heartbeat = setInterval(() => this.beat(), this.timings.heartbeatIntervalMs)
    this.beat()
  }

  private beat(): void {
    if (this.state === 'closed') return
    if (performance.now() - this.lastControlAt > this.timings.heartbeatTimeoutMs) {
      this.close('heartbeat-timeout')
      return
    }
    const payload = new Uint8Array(8)
    new DataView(payload.buffer).setFloat64(0, performance.now())
    this.control.write(encodeFrame(FrameType.Ping, 0, payload))
  }

  private onControlFrame(frame: Frame): void {
    this.lastControlAt = performance.now()
    switch (frame.type) {
      case FrameType.Ping:
        this.control.write(encodeFrame(FrameType.Pong, frame.id, frame.payload))
        return
      case FrameType.Pong: {
        if (frame.payload.length === 8) {
          const sent = new DataView(frame.payload.buffer, frame.payload.byteOffset, 8).getFloat64(0)
          const rtt = performance.now() - sent
          if (rtt >= 0 && rtt < 60_000) {
            this.rttMs = rtt
            this.events.onRtt(this, rtt)
          }
        }
        return
      }
      case FrameType.GoAway: {
        let reason: CloseReason = 'peer-shutdown'
        try {
          const { r } = decode(frame.payload) as { r?: unknown }
          if (isCloseReason(r)) reason = r === 'shutdown' ? 'peer-shutdown' : r
        } catch {
          // keep the default
        }
        this.remoteGoAway = reason
        this.events.onGoAway(this, reason)
        return
      }
      default:
        this.protocolError(new UnknownFrameTypeError(frame.type, 'the control stream after the hello'))
    }
  }

  /** Opens a channel stream on this connection. */
  async openChannelStream(signal?: AbortSignal): Promise<Stream> {
    const stream = await this.conn.newStream(CHANNEL_PROTOCOL, { signal, maxOutboundStreams: 4096 })
    this.track(stream)
    return stream
  }

  /** Counts a stream of this connection for the drain. */
  track(stream: Stream): void {
    this.openStreams.add(stream)
    const done = (): void => {
      this.openStreams.delete(stream)
      this.drainCheck?.()
    }
    stream.addEventListener('close', done, { once: true })
    // a drained stream: our side closed and the peer's side ended
    stream.addEventListener('remoteCloseWrite', () => {
      if (stream.writeStatus === 'closed') done()
    })
  }

  /** A peer violated the protocol on this connection: close it with the violation's reason. */
  protocolError(error: ProtocolError): void {
    this.log.error('protocol error from %s on %s: %s', this.peerId, this.id, error.message)
    this.close(error.reason ?? 'protocol-error', error)
  }

  /** Sends GOAWAY; the peer stops sending new messages on this connection. */
  goAway(reason: CloseReason): void {
    if (this.state === 'closed') return
    this.control.write(encodeFrame(FrameType.GoAway, 0, encode({ r: reason })))
  }

  /**
   * Closes without losing what was written: the caller has moved every channel
   * off this connection (their writers FIN after flushing); both sides finish
   * their streams, then the connection closes. Aborts after the drain timeout.
   */
  async drain(reason: CloseReason): Promise<void> {
    if (this.state !== 'active') return
    this.state = 'draining'
    this.closeReason = reason
    this.goAway(reason)
    await Promise.race([
      (async () => {
        await this.control.closeWrite()
        await new Promise<void>((resolve) => {
          this.drainCheck = () => {
            const pending = [...this.openStreams].filter((s) => s.status === 'open' && s.remoteWriteStatus !== 'closed')
            if (pending.length === 0) resolve()
          }
          this.drainCheck()
        })
      })(),
      new Promise<void>((resolve) => {
        this.drainTimer = setTimeout(resolve, this.timings.drainTimeoutMs)
      }),
    ])
    clearTimeout(this.drainTimer)
    this.drainCheck = undefined
    await this.conn.close().catch(() => {})
    this.onConnectionClosed()
  }

  /** Closes at once. */
  close(reason: CloseReason, error?: Error): void {
    if (this.state === 'closed') return
    this.closeReason ??= reason
    this.closeError ??= error
    if (reason !== 'transport-closed') this.goAway(reason)
    this.conn.abort(error ?? new Error(`closed: ${reason}`))
    this.onConnectionClosed()
  }

  private onConnectionClosed(): void {
    if (this.state === 'closed') return
    this.state = 'closed'
    clearInterval(this.heartbeat)
    clearTimeout(this.drainTimer)
    const reason = this.closeReason ?? this.remoteGoAway ?? 'transport-closed'
    this.events.onClosed(this, reason, this.closeError)
  }
}
