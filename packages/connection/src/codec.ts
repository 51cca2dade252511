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
import type { Uint8ArrayList } from 'uint8arraylist'
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

/**
 * Incremental decoder: feed it chunks as they arrive, get whole frames back.
 * Throws {@link FrameTooLargeError} as soon as a length prefix exceeds the
 * maximum (before buffering the body), {@link MalformedFrameError} and
 * {@link UnknownFrameTypeError}. After an error the stream is unusable.
 *
 * Payloads are views into the received chunks (no copy). The chunks of a frame
 * that spans several reads are joined once, when the frame is complete.
 */
export class FrameDecoder {
  private parts: Uint8Array[] = []
  private partsBytes = 0
  /** Bytes the frame at the start of `parts` needs, once its length is known. */
  private needed = 0
  private failed: Error | undefined
  private readonly allowedTable = new Uint8Array(256)

  constructor(
    /** Largest body (type + id + payload) accepted. */
    readonly maxBody: number,
    /** Frame types allowed on this stream. */
    readonly allowed: ReadonlySet<number> = KNOWN_TYPES,
    /** For messages: which stream this is. */
    readonly where = 'stream',
  ) {
    for (const type of allowed) if (KNOWN_TYPES.has(type)) this.allowedTable[type] = 1
  }

  /** Bytes received but not yet part of a whole frame. */
  get bufferedBytes(): number {
    return this.partsBytes
  }

  /**
   * Appends a chunk and returns the whole frames it completes. With `onFrame`,
   * frames are handed over one by one as they are parsed, so the frames before
   * a bad one are not lost when it throws.
   */
  push(chunk: Uint8Array | Uint8ArrayList, onFrame?: (frame: Frame) => void): Frame[] {
    if (this.failed !== undefined) throw this.failed
    const bytes = chunk instanceof Uint8Array ? chunk : chunk.subarray()
    const frames: Frame[] = []
    if (bytes.length === 0) return frames
    this.parts.push(bytes)
    this.partsBytes += bytes.length
    if (this.partsBytes < this.needed) return frames
    const data = this.parts.length === 1 ? this.parts[0]! : concat(this.parts, this.partsBytes)
    this.parts = []
    this.partsBytes = 0
    this.needed = 0
    let pos = 0
    try {
      while (pos < data.length) {
        const size = this.frameAt(data, pos, onFrame ?? ((f) => frames.push(f)))
        if (size === 0) break
        pos += size
      }
    } catch (err) {
      this.failed = err as Error
      throw err
    }
    if (pos < data.length) {
      const rest = data.subarray(pos)
      this.parts = [rest]
      this.partsBytes = rest.length
    }
    return frames
  }

  /** Parses the frame at `pos`; returns its wire size, or 0 if it is not complete yet. */
  private frameAt(data: Uint8Array, pos: number, emit: (frame: Frame) => void): number {
    const prefix = readVarint(data, pos, data.length, MAX_LENGTH_VARINT_BYTES)
    if (prefix === 0) return 0
    if (prefix < 0) throw new MalformedFrameError('length prefix is not a varint of at most 5 bytes')
    const body = varintValue
    if (body > this.maxBody) throw new FrameTooLargeError(body, this.maxBody)
    if (body < 2) throw new MalformedFrameError(`body of ${body} bytes cannot hold a type and an id`)
    const size = prefix + body
    if (data.length - pos < size) {
      this.needed = size
      return 0
    }
    const type = data[pos + prefix]!
    if (this.allowedTable[type] !== 1) throw new UnknownFrameTypeError(type, this.where)
    const idStart = pos + prefix + 1
    const end = pos + size
    const idLength = readVarint(data, idStart, end, MAX_ID_VARINT_BYTES)
    if (idLength <= 0) throw new MalformedFrameError('message id is not a varint of at most 8 bytes inside the frame')
    const id = varintValue
    if (id > MAX_MESSAGE_ID) throw new MalformedFrameError('message id is beyond 2^53')
    emit({ type: type as FrameTypeCode, id, payload: data.subarray(idStart + idLength, end), wireBytes: size })
    return size
  }
}

// The decoded value of the last readVarint() call (no allocation per varint).
let varintValue = 0

/**
 * Reads an unsigned LEB128 varint at `offset` in one pass: returns its length
 * and leaves the value in `varintValue`; 0 if the bytes end first (wait for
 * more), -1 if it is longer than `max` bytes (invalid). uint8-varint encodes
 * ours, but cannot tell an incomplete varint from an invalid one, which a
 * stream decoder must.
 */
function readVarint(buf: Uint8Array, offset: number, end: number, max: number): number {
  let value = 0
  let scale = 1
  for (let i = 0; i < max; i++) {
    if (offset + i >= end) return 0
    const byte = buf[offset + i]!
    value += (byte & 0x7f) * scale
    if ((byte & 0x80) === 0) {
      varintValue = value
      return i + 1
    }
    scale *= 128
  }
  return -1
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total)
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.length
  }
  return out
}

/**
 * Encodes a frame into `target` at `offset`, which must have
 * {@link frameSize} bytes free; returns the new offset. Lets a writer put many
 * frames into one buffer without an allocation per frame.
 */
export function encodeFrameInto(target: Uint8Array, offset: number, type: FrameTypeCode, id: number, payload: Uint8Array): number {
  const idLength = varint.encodingLength(id)
  const body = 1 + idLength + payload.length
  varint.encode(body, target, offset)
  let at = offset + varint.encodingLength(body)
  target[at++] = type
  varint.encode(id, target, at)
  at += idLength
  target.set(payload, at)
  return at + payload.length
}

/** Encodes a varint-only payload (CREDIT). */
export function encodeVarintPayload(value: number): Uint8Array {
  return varint.encode(value)
}

/** Decodes a varint-only payload; throws {@link MalformedFrameError}. */
export function decodeVarintPayload(payload: Uint8Array): number {
  const length = readVarint(payload, 0, payload.length, MAX_ID_VARINT_BYTES)
  if (length <= 0 || length !== payload.length) throw new MalformedFrameError('payload is not a single varint')
  if (varintValue > MAX_MESSAGE_ID) throw new MalformedFrameError('varint payload beyond 2^53')
  return varintValue
}
