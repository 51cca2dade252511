/**
 * Frames over one libp2p stream: writes are coalesced (every frame written in
 * one tick goes to the transport as one write) and follow the transport's
 * backpressure (`send()` returning false, then the `'drain'` event); reads are
 * decoded incrementally. A protocol error from the peer surfaces once through
 * `onError` and ends the stream.
 */
import type { Stream } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
import type { FrameDecoder} from './codec.js';
import { type Frame } from './codec.js'
import { MAX_COALESCED_WRITE_BYTES } from './constants.js'

export interface FramedStreamHandlers {
  onFrame: (frame: Frame) => void
  /** The peer closed its side (FIN) or the stream/connection closed; `error` when it was abnormal. */
  onEnd: (error?: Error) => void
  /** A frame could not be decoded (protocol violation). The stream is unusable afterwards. */
  onError: (error: Error) => void
}

export class FramedStream {
  private readonly batch = new Uint8ArrayList()
  private flushQueued = false
  private waitingForDrain = false
  private ended = false
  private errored = false
  private failure: Error | undefined
  private endError: { error: Error | undefined } | undefined
  private closingWrite: Promise<void> | undefined
  private readonly idleWaiters: Array<() => void> = []
  bytesWritten = 0
  bytesRead = 0

  constructor(
    readonly stream: Stream,
    private readonly decoder: FrameDecoder,
    private handlers: FramedStreamHandlers,
  ) {
    stream.addEventListener('message', (evt) => {
      if (this.errored) return
      this.bytesRead += evt.data.byteLength
      try {
        // frames before a bad one are delivered, then the error
        this.decoder.push(evt.data, (frame) => {
          if (!this.errored) this.handlers.onFrame(frame)
        })
      } catch (err) {
        this.errored = true
        this.failure = err as Error
        this.handlers.onError(err as Error)
      }
    })
    stream.addEventListener('drain', () => {
      this.waitingForDrain = false
      this.flush()
    })
    stream.addEventListener('remoteCloseWrite', () => this.end())
    stream.addEventListener('close', (evt) => this.end(evt.error))
  }

  /**
   * Replaces the handlers (a stream changes hands after the hello). A decode
   * error or an end the previous owner saw is replayed to the new one, so it
   * cannot fall between the two.
   */
  setHandlers(handlers: FramedStreamHandlers): void {
    this.handlers = handlers
    if (this.failure !== undefined) handlers.onError(this.failure)
    else if (this.endError !== undefined) handlers.onEnd(this.endError.error)
  }

  get writable(): boolean {
    return this.closingWrite === undefined && this.stream.writeStatus === 'writable' && this.stream.status === 'open'
  }

  /** Bytes accepted by `write()` but not yet handed to the transport. */
  get pendingBytes(): number {
    return this.batch.byteLength
  }

  /** Queues a frame; it is handed to the transport with the others of this tick. */
  write(frame: Uint8Array): void {
    if (!this.writable) return
    this.batch.append(frame)
    if (!this.flushQueued && !this.waitingForDrain) {
      this.flushQueued = true
      queueMicrotask(() => {
        this.flushQueued = false
        this.flush()
      })
    }
  }

  private flush(): void {
    while (this.batch.byteLength > 0 && !this.waitingForDrain) {
      if (this.stream.status !== 'open' || this.stream.writeStatus !== 'writable') {
        this.batch.consume(this.batch.byteLength)
        break
      }
      const size = Math.min(this.batch.byteLength, MAX_COALESCED_WRITE_BYTES)
      // whole chunks only: sublist keeps frame boundaries irrelevant (bytes are a stream)
      const chunk = this.batch.sublist(0, size)
      this.batch.consume(size)
      this.bytesWritten += size
      try {
        if (!this.stream.send(chunk)) this.waitingForDrain = true
      } catch {
        // the stream closed under us; 'close' reports it
        this.batch.consume(this.batch.byteLength)
        break
      }
    }
    if (this.batch.byteLength === 0 && !this.waitingForDrain) {
      for (const resolve of this.idleWaiters.splice(0)) resolve()
    }
  }

  /** Resolves when everything written so far was handed to the transport. */
  async flushed(): Promise<void> {
    if (this.batch.byteLength === 0 && !this.waitingForDrain) return
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve))
  }

  /** Flushes, then closes our side (FIN). The peer keeps reading what was sent. */
  async closeWrite(): Promise<void> {
    this.closingWrite ??= (async () => {
      this.flush()
      await this.flushed()
      if (this.stream.status === 'open' && this.stream.writeStatus === 'writable') {
        await this.stream.close().catch(() => {})
      }
    })()
    return this.closingWrite
  }

  abort(error: Error): void {
    this.batch.consume(this.batch.byteLength)
    for (const resolve of this.idleWaiters.splice(0)) resolve()
    this.stream.abort(error)
  }

  private end(error?: Error): void {
    if (this.ended) return
    this.ended = true
    this.endError = { error }
    for (const resolve of this.idleWaiters.splice(0)) resolve()
    this.handlers.onEnd(error)
  }
}
