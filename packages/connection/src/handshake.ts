/**
 * The hello exchange on the control stream (PROTOCOL.md, "Handshake"):
 *
 * ```
 * dialer                      listener
 *   HELLO   ---------------->   check
 *   check   <----------------   HELLO
 *   HELLO_ACK -------------->   established
 *   established
 * ```
 *
 * Either side that refuses the other's hello sends REJECT { r: reason, m: text }
 * instead and closes the connection; both report the typed reason.
 */
import { decode, encode } from '@msgpack/msgpack'
import type { Stream } from '@libp2p/interface'
import { CONTROL_FRAME_TYPES, encodeFrame, FrameDecoder, FrameType, MAX_FRAME_OVERHEAD, type Frame } from './codec.js'
import { MAX_HELLO_BYTES } from './constants.js'
import { ConnectionRejectedError } from './errors.js'
import { FramedStream } from './framed-stream.js'
import { decodeHello, encodeHello, type Hello, type VerifiedHello } from './hello.js'
import { isRejectReason } from './reasons.js'

export interface HandshakeResult {
  /** The hello we sent (its nonce names this connection in the duplicate rule). */
  local: Hello
  remote: VerifiedHello
  control: FramedStream
  /** Frames that arrived right behind the handshake, for the session to process. */
  leftover: Frame[]
}

/** A hello refused by the other side (it sent REJECT). */
export class RejectedByPeerError extends ConnectionRejectedError {}

/** Reads frames one at a time from a FramedStream during the handshake. */
class FrameQueue {
  private readonly frames: Frame[] = []
  private waiter: { resolve: (f: Frame) => void; reject: (e: Error) => void } | undefined
  private failure: Error | undefined

  push = (frame: Frame): void => {
    if (this.waiter !== undefined) {
      const { resolve } = this.waiter
      this.waiter = undefined
      resolve(frame)
    } else {
      this.frames.push(frame)
    }
  }

  fail = (error: Error): void => {
    this.failure ??= error
    if (this.waiter !== undefined) {
      const { reject } = this.waiter
      this.waiter = undefined
      reject(error)
    }
  }

  async next(signal: AbortSignal): Promise<Frame> {
    const queued = this.frames.shift()
    if (queued !== undefined) return queued
    if (this.failure !== undefined) throw this.failure
    signal.throwIfAborted()
    return new Promise<Frame>((resolve, reject) => {
      const onAbort = (): void => {
        this.waiter = undefined
        reject(signal.reason as Error)
      }
      signal.addEventListener('abort', onAbort, { once: true })
      this.waiter = {
        resolve: (f) => {
          signal.removeEventListener('abort', onAbort)
          resolve(f)
        },
        reject: (e) => {
          signal.removeEventListener('abort', onAbort)
          reject(e)
        },
      }
    })
  }

  drain(): Frame[] {
    return this.frames.splice(0)
  }
}

export interface HandshakeInit {
  stream: Stream
  local: Hello
  /** Binds the remote hello to the connection; throws ConnectionRejectedError. */
  check: (hello: Hello) => VerifiedHello
  signal: AbortSignal
}

function open(stream: Stream): { control: FramedStream; queue: FrameQueue } {
  const queue = new FrameQueue()
  const control = new FramedStream(stream, new FrameDecoder(MAX_HELLO_BYTES + MAX_FRAME_OVERHEAD, CONTROL_FRAME_TYPES, 'the control stream'), {
    onFrame: queue.push,
    onEnd: (error) => queue.fail(error ?? new ConnectionRejectedError('malformed-hello', 'the peer closed the control stream during the hello')),
    onError: queue.fail,
  })
  return { control, queue }
}

function rejectedByPeer(frame: Frame): RejectedByPeerError {
  let reason: unknown
  let message: unknown
  try {
    ;({ r: reason, m: message } = decode(frame.payload) as { r?: unknown; m?: unknown })
  } catch {
    // fall through with an unknown reason
  }
  return new RejectedByPeerError(
    isRejectReason(reason) ? reason : 'malformed-hello',
    `the peer refused our hello: ${typeof message === 'string' ? message.slice(0, 200) : 'no reason given'}`,
  )
}

async function expect(queue: FrameQueue, type: number, signal: AbortSignal): Promise<Frame> {
  const frame = await queue.next(signal)
  if (frame.type === FrameType.Reject) throw rejectedByPeer(frame)
  if (frame.type !== type) throw new ConnectionRejectedError('malformed-hello', `expected frame 0x${type.toString(16)}, got 0x${frame.type.toString(16)}`)
  return frame
}

/** Sends REJECT for a refused hello (best effort) and gives it a moment to leave before the caller closes. */
export async function sendReject(control: FramedStream, error: ConnectionRejectedError): Promise<void> {
  if (error instanceof RejectedByPeerError) return
  control.write(encodeFrame(FrameType.Reject, 0, encode({ r: error.reason, m: error.message.slice(0, 200) })))
  await control.closeWrite()
}

function checked(init: HandshakeInit, frame: Frame): VerifiedHello {
  return init.check(decodeHello(frame.payload))
}

export async function dialerHandshake(init: HandshakeInit): Promise<HandshakeResult> {
  const { control, queue } = open(init.stream)
  try {
    control.write(encodeFrame(FrameType.Hello, 0, encodeHello(init.local)))
    const remote = checked(init, await expect(queue, FrameType.Hello, init.signal))
    control.write(encodeFrame(FrameType.HelloAck, 0))
    return { local: init.local, remote, control, leftover: queue.drain() }
  } catch (err) {
    if (err instanceof ConnectionRejectedError) await sendReject(control, err)
    throw err
  }
}

export async function listenerHandshake(init: HandshakeInit): Promise<HandshakeResult> {
  const { control, queue } = open(init.stream)
  try {
    const remote = checked(init, await expect(queue, FrameType.Hello, init.signal))
    control.write(encodeFrame(FrameType.Hello, 0, encodeHello(init.local)))
    await expect(queue, FrameType.HelloAck, init.signal)
    return { local: init.local, remote, control, leftover: queue.drain() }
  } catch (err) {
    if (err instanceof ConnectionRejectedError) await sendReject(control, err)
    throw err
  }
}
