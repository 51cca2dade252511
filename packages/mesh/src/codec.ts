/**
 * The mesh message envelope (PROTOCOL.md section 9) and payload encoding: pure
 * functions.
 *
 * ```
 * u8      kind    0 data, 1 request, 2 response, 3 reliable data, 4 ack
 * u8      flags   bit 0: body is msgpack (else raw bytes)
 *                 bit 1: a leader term follows
 *                 bit 2: the response is an error ({ code, message } body)
 * varint  term    if flag bit 1
 * varint  id      request / response / reliable / ack: request id, or message id
 * bytes   body
 * ```
 */
import { decode, encode } from '@msgpack/msgpack'
import * as varint from 'uint8-varint'
import { PayloadEncodeError } from './errors.js'

export const Kind = { Data: 0, Request: 1, Response: 2, Reliable: 3, Ack: 4 } as const
export type KindCode = (typeof Kind)[keyof typeof Kind]

const FLAG_MSGPACK = 1
const FLAG_TERM = 2
const FLAG_ERROR = 4

export interface Envelope {
  kind: KindCode
  /** The body: raw bytes, or the msgpack encoding of a value. */
  body: Uint8Array
  msgpack: boolean
  term?: number
  id?: number
  error?: boolean
}

/** Bytes go as they are; anything else as msgpack. Throws {@link PayloadEncodeError}. */
export function encodeBody(payload: unknown): { body: Uint8Array; msgpack: boolean } {
  if (payload instanceof Uint8Array) return { body: payload, msgpack: false }
  try {
    return { body: encode(payload, { ignoreUndefined: false, maxDepth: 64 }), msgpack: true }
  } catch (err) {
    throw new PayloadEncodeError({ cause: err })
  }
}

export function decodeBody(body: Uint8Array, msgpack: boolean): unknown {
  return msgpack ? decode(body) : body
}

export function encodeEnvelope(e: Envelope): Uint8Array {
  const flags = (e.msgpack ? FLAG_MSGPACK : 0) | (e.term !== undefined ? FLAG_TERM : 0) | (e.error === true ? FLAG_ERROR : 0)
  const termLength = e.term !== undefined ? varint.encodingLength(e.term) : 0
  const hasId = e.kind !== Kind.Data
  const idLength = hasId ? varint.encodingLength(e.id ?? 0) : 0
  const out = new Uint8Array(2 + termLength + idLength + e.body.length)
  out[0] = e.kind
  out[1] = flags
  let at = 2
  if (e.term !== undefined) {
    varint.encode(e.term, out, at)
    at += termLength
  }
  if (hasId) {
    varint.encode(e.id ?? 0, out, at)
    at += idLength
  }
  out.set(e.body, at)
  return out
}

/** Parses an envelope; returns a description of what is wrong instead of throwing. */
export function decodeEnvelope(bytes: Uint8Array): Envelope | string {
  if (bytes.length < 2) return 'shorter than its header'
  const kind = bytes[0]!
  if (kind > Kind.Ack) return `unknown kind ${kind}`
  const flags = bytes[1]!
  if ((flags & ~7) !== 0) return `unknown flags ${flags}`
  let at = 2
  let term: number | undefined
  let id: number | undefined
  try {
    if ((flags & FLAG_TERM) !== 0) {
      term = varint.decode(bytes, at)
      at += varint.encodingLength(term)
    }
    if (kind !== Kind.Data) {
      id = varint.decode(bytes, at)
      at += varint.encodingLength(id)
    }
  } catch {
    return 'truncated varint'
  }
  if (at > bytes.length) return 'truncated header'
  return {
    kind: kind as KindCode,
    msgpack: (flags & FLAG_MSGPACK) !== 0,
    error: (flags & FLAG_ERROR) !== 0,
    body: bytes.subarray(at),
    ...(term !== undefined ? { term } : {}),
    ...(id !== undefined ? { id } : {}),
  }
}
