/**
 * Frames over one libp2p stream. Writes follow the transport's backpressure
 * and coalesce by themselves: a frame written while the transport is idle goes
 * out at once (no added latency); frames written while a write is in flight
 * (`send()` returned false) collect in one buffer and go out as one write on
 * the `'drain'` event. Reads are decoded incrementally. A protocol error from
 * the peer surfaces once through `onError` and ends the stream.
 */
import type { Stream } from '@libp2p/interface'
import { encodeFrame, encodeFrameInto, frameSize, type Frame, type FrameDecoder, type FrameTypeCode } from './codec.js'
import { MAX_COALESCED_WRITE_BYTES } from './constants.js'

/** Frames up to this size are encoded into a shared buffer; larger ones are written as they are. */
const INLINE_FRAME_MAX = 16 * 1024
/** Size of the shared buffer small frames are encoded into. */
const INLINE_BUFFER_BYTES = MAX_COALESCED_WRITE_BYTES

export interface FramedStreamHandlers {
  onFrame: (frame: Frame) => void
  /** The peer closed its side (FIN) or the stream/connection closed; `error` when it was abnormal. */
  onEnd: (error?: Error) => void
  /** A frame could not be decoded (protocol violation). The stream is unusable afterwards. */
  onError: (error: Error) => void
}

export class FramedStream {
  // Frames waiting for the next write. A plain array: Uint8ArrayList.consume()
  // shifts its array once per buffer, quadratic with thousands of small frames.
  private batch: Uint8Array[] = []
  private batchBytes = 0
  // Small frames are encoded straight into one buffer (no allocation per frame).
  private current: Uint8Array | undefined
  private cursor = 0
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
    return this.batchBytes
  }

  /** Writes an encoded frame now if the transport is idle, else with the next batch. */
  write(frame: Uint8Array): void {
    if (!this.writable) return
    if (this.idle) {
      this.sendNow(frame)
      return
    }
    this.seal()
    this.batch.push(frame)
    this.batchBytes += frame.length
  }

  /** Encodes and writes a frame; while the transport is busy, small frames share one buffer. */
  writeFrame(type: FrameTypeCode, id: number, payload: Uint8Array, size = frameSize(id, payload.length)): void {
    if (!this.writable) return
    if (this.idle || size > INLINE_FRAME_MAX) {
      this.write(encodeFrame(type, id, payload))
      return
    }
    if (this.current === undefined || this.current.length - this.cursor < size) {
      this.seal()
      this.current = Buffer.allocUnsafe(INLINE_BUFFER_BYTES)
      this.cursor = 0
    }
    this.cursor = encodeFrameInto(this.current, this.cursor, type, id, payload)
    this.batchBytes += size
  }

  /** Nothing waits and no write is in flight. */
  private get idle(): boolean {
    return !this.waitingForDrain && this.batchBytes === 0
  }

  private sendNow(chunk: Uint8Array): void {
    this.bytesWritten += chunk.length
    try {
      if (!this.stream.send(chunk)) this.waitingForDrain = true
    } catch {
      // the stream closed under us; 'close' reports it
      this.dropBatch()
    }
  }

  /** Moves the frames encoded in the shared buffer into the batch. */
  private seal(): void {
    if (this.current !== undefined && this.cursor > 0) this.batch.push(this.current.subarray(0, this.cursor))
    this.current = undefined
    this.cursor = 0
  }



  /** Takes frames from the batch, up to {@link MAX_COALESCED_WRITE_BYTES}, as one buffer. */
  private takeChunk(): Uint8Array {
    let count = 0
    let size = 0
    while (count < this.batch.length && (count === 0 || size + this.batch[count]!.length <= MAX_COALESCED_WRITE_BYTES)) {
      size += this.batch[count]!.length
      count++
    }
    const frames = this.batch.slice(0, count)
    this.batch = count === this.batch.length ? [] : this.batch.slice(count)
    this.batchBytes -= size
    if (frames.length === 1) return frames[0]!
    const chunk = new Uint8Array(size)
    let offset = 0
    for (const f of frames) {
      chunk.set(f, offset)
      offset += f.length
    }
    return chunk
  }

  private dropBatch(): void {
    this.batch = []
    this.batchBytes = 0
    this.current = undefined
    this.cursor = 0
  }

  private flush(): void {
    this.seal()
    while (this.batchBytes > 0 && !this.waitingForDrain) {
      if (this.stream.status !== 'open' || this.stream.writeStatus !== 'writable') {
        this.dropBatch()
        break
      }
      this.sendNow(this.takeChunk())
    }
    if (this.batchBytes === 0 && !this.waitingForDrain) {
      for (const resolve of this.idleWaiters.splice(0)) resolve()
    }
  }

  /** Resolves when everything written so far was handed to the transport. */
  async flushed(): Promise<void> {
    if (this.batchBytes === 0 && !this.waitingForDrain) return
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
    this.dropBatch()
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
