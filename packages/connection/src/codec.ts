/**
 * The frame codec: pure functions, no I/O. Every meshkit stream carries frames:
 *
 * ```
 * varint  length   bytes that follow (type + id + payload), 2 ..= maxBody
 * u8      type     see {@link FrameType}
 * varint  id       message id (DATA: the channel's sequence number; 0 otherwise)
 * bytes   payload
 * ```
 *
 * Varints are unsigned LEB128 (as in protobuf and multiformats), encoded with
 * `uint8-varint`. See PROTOCOL.md.
 */
import * as varint from 'uint8-varint'
import { Uint8ArrayList } from 'uint8arraylist'
import { FrameTooLargeError, MalformedFrameError, UnknownFrameTypeError } from './errors.js'

/** Frame types. Channel streams carry OPEN, DATA, CREDIT; the control stream the rest. */
export const FrameType = {
  /** First frame of a channel stream: payload = channel name (UTF-8), id = stream generation. */
  Open: 0x01,
  /** An application message: id = sequence number within the channel, payload = message. */
  Data: 0x02,
  /** Receiver to sender on a channel stream: payload = varint bytes of additional credit. */
  Credit: 0x03,
  /** Control: the hello (msgpack map, see hello.ts). */
  Hello: 0x10,
  /** Control: the dialer accepted the listener's hello; the connection is established. */
  HelloAck: 0x11,
  /** Control: the hello was refused; payload = msgpack { r: reason, m: message }. */
  Reject: 0x12,
  /** Control: heartbeat; payload echoed in the PONG. */
  Ping: 0x13,
  /** Control: heartbeat answer. */
  Pong: 0x14,
  /** Control: this connection is going away; payload = msgpack { r: reason }. */
  GoAway: 0x15,
} as const

export type FrameTypeName = keyof typeof FrameType
export type FrameTypeCode = (typeof FrameType)[FrameTypeName]

const KNOWN_TYPES: ReadonlySet<number> = new Set(Object.values(FrameType))
export const CHANNEL_FRAME_TYPES: ReadonlySet<number> = new Set([FrameType.Open, FrameType.Data, FrameType.Credit])
export const CONTROL_FRAME_TYPES: ReadonlySet<number> = new Set([
  FrameType.Hello,
  FrameType.HelloAck,
  FrameType.Reject,
  FrameType.Ping,
  FrameType.Pong,
  FrameType.GoAway,
])

/** Bytes a frame adds around its payload, at most (length varint 5 + type 1 + id varint 8). */
export const MAX_FRAME_OVERHEAD = 14
/** Largest message id (ids are varints of safe integers). */
export const MAX_MESSAGE_ID = Number.MAX_SAFE_INTEGER
const MAX_LENGTH_VARINT_BYTES = 5
const MAX_ID_VARINT_BYTES = 8

export interface Frame {
  type: FrameTypeCode
  id: number
  payload: Uint8Array
  /** Bytes the frame took on the wire, prefix included. */
  wireBytes: number
}

/** Largest frame body (type + id + payload) for a given maximum payload. */
export function maxBodyFor(maxPayload: number): number {
  return maxPayload + 1 + MAX_ID_VARINT_BYTES
}

/** Encodes one frame. */
export function encodeFrame(type: FrameTypeCode, id: number, payload: Uint8Array = EMPTY): Uint8Array {
  if (!Number.isSafeInteger(id) || id < 0) throw new RangeError(`frame id must be a non-negative safe integer, got ${id}`)
  const idLength = varint.encodingLength(id)
  const body = 1 + idLength + payload.length
  const lengthLength = varint.encodingLength(body)
  const out = new Uint8Array(lengthLength + body)
  varint.encode(body, out, 0)
  out[lengthLength] = type
  varint.encode(id, out, lengthLength + 1)
  out.set(payload, lengthLength + 1 + idLength)
  return out
}

/** Wire size of a frame with this id and payload length. */
export function frameSize(id: number, payloadLength: number): number {
  const body = 1 + varint.encodingLength(id) + payloadLength
  return varint.encodingLength(body) + body
}

const EMPTY = new Uint8Array(0)

/** Length of a complete varint at `offset`, `0` if the bytes end first, `-1` if it is longer than `max` bytes. */
function varintLength(buf: Uint8ArrayList | Uint8Array, offset: number, end: number, max: number): number {
  for (let i = 0; i < max; i++) {
    if (offset + i >= end) return 0
    const byte = buf instanceof Uint8Array ? buf[offset + i]! : buf.get(offset + i)
    if ((byte & 0x80) === 0) return i + 1
  }
  return -1
}

/**
 * Incremental decoder: feed it chunks as they arrive, get whole frames back.
 * Throws {@link FrameTooLargeError} as soon as a length prefix exceeds the
 * maximum (before buffering the body), {@link MalformedFrameError} and
 * {@link UnknownFrameTypeError}. After an error the stream is unusable.
 */
export class FrameDecoder {
  private readonly buffer = new Uint8ArrayList()
  private failed: Error | undefined

  constructor(
    /** Largest body (type + id + payload) accepted. */
    readonly maxBody: number,
    /** Frame types allowed on this stream. */
    readonly allowed: ReadonlySet<number> = KNOWN_TYPES,
    /** For messages: which stream this is. */
    readonly where = 'stream',
  ) {}

  /** Bytes received but not yet part of a whole frame. */
  get bufferedBytes(): number {
    return this.buffer.byteLength
  }

  /**
   * Appends a chunk and returns the whole frames it completes. With `onFrame`,
   * frames are handed over one by one as they are parsed, so the frames before
   * a bad one are not lost when it throws.
   */
  push(chunk: Uint8Array | Uint8ArrayList, onFrame?: (frame: Frame) => void): Frame[] {
    if (this.failed !== undefined) throw this.failed
    this.buffer.append(chunk)
    const frames: Frame[] = []
    try {
      for (;;) {
        const frame = this.next()
        if (frame === undefined) break
        if (onFrame !== undefined) onFrame(frame)
        else frames.push(frame)
      }
    } catch (err) {
      this.failed = err as Error
      this.buffer.consume(this.buffer.byteLength)
      throw err
    }
    return frames
  }

  private next(): Frame | undefined {
    const available = this.buffer.byteLength
    if (available === 0) return undefined
    const prefix = varintLength(this.buffer, 0, available, MAX_LENGTH_VARINT_BYTES)
    if (prefix === 0) return undefined
    if (prefix < 0) throw new MalformedFrameError('length prefix is not a varint of at most 5 bytes')
    const body = varint.decode(this.buffer, 0)
    if (body > this.maxBody) throw new FrameTooLargeError(body, this.maxBody)
    if (body < 2) throw new MalformedFrameError(`body of ${body} bytes cannot hold a type and an id`)
    if (available < prefix + body) return undefined
    const type = this.buffer.get(prefix)
    if (!KNOWN_TYPES.has(type) || !this.allowed.has(type)) throw new UnknownFrameTypeError(type, this.where)
    const idStart = prefix + 1
    const idLength = varintLength(this.buffer, idStart, prefix + body, MAX_ID_VARINT_BYTES)
    if (idLength <= 0) throw new MalformedFrameError('message id is not a varint of at most 8 bytes inside the frame')
    const id = varint.decode(this.buffer, idStart)
    if (!Number.isSafeInteger(id)) throw new MalformedFrameError('message id is beyond 2^53')
    const payload = this.buffer.subarray(idStart + idLength, prefix + body)
    this.buffer.consume(prefix + body)
    return { type: type as FrameTypeCode, id, payload, wireBytes: prefix + body }
  }
}

/** Encodes a varint-only payload (CREDIT). */
export function encodeVarintPayload(value: number): Uint8Array {
  return varint.encode(value)
}

/** Decodes a varint-only payload; throws {@link MalformedFrameError}. */
export function decodeVarintPayload(payload: Uint8Array): number {
  const length = varintLength(payload, 0, payload.length, MAX_ID_VARINT_BYTES)
  if (length <= 0 || length !== payload.length) throw new MalformedFrameError('payload is not a single varint')
  const value = varint.decode(payload, 0)
  if (!Number.isSafeInteger(value)) throw new MalformedFrameError('varint payload beyond 2^53')
  return value
}
