/**
 * Wire forms of the election (PROTOCOL.md section 8): messages on the
 * `$election` channel, the hello extension and the persisted state, all
 * MessagePack maps with short keys like the rest of meshkit's protocol; and
 * the canonical bytes a claim's signature covers, a fixed binary layout
 * (MessagePack is not canonical, a signature needs exactly one encoding).
 *
 * Pure functions. Decoders validate every field and throw
 * {@link ElectionDecodeError}; unknown keys are ignored (forward compatible).
 */
import { Decoder, Encoder } from '@msgpack/msgpack'
import {
  CLAIM_SIGNING_DOMAIN,
  ELECTION_PROTOCOL_VERSION,
  MAX_ELECTION_MESSAGE_BYTES,
  MAX_ID_LENGTH,
  MAX_PROOF_BYTES,
  MAX_ROSTER_SIZE,
  MAX_SIGNATURE_BYTES,
  MAX_TERM,
} from './constants.js'
import type { HelloState } from './core.js'
import { ElectionDecodeError } from './errors.js'
import type { Claim, ElectionMessage, ElectionRole, ElectionState, PeerHello } from './types.js'

/** Message kinds on the wire (`k`). */
export const MessageKind = { claim: 1, ack: 2, heartbeat: 3, handover: 4 } as const
/** Roles on the wire (hello `s`). */
const ROLE_CODES: Record<ElectionRole, number> = { none: 0, follower: 1, candidate: 2, leader: 3 }
const ROLES: ElectionRole[] = ['none', 'follower', 'candidate', 'leader']

const encoder = new Encoder({ ignoreUndefined: true })
const decoder = new Decoder({
  maxStrLength: MAX_ELECTION_MESSAGE_BYTES,
  maxBinLength: MAX_ELECTION_MESSAGE_BYTES,
  maxArrayLength: MAX_ROSTER_SIZE,
  maxMapLength: 32,
  maxExtLength: 0,
})
const utf8 = new TextEncoder()

// ---- claims and their signed bytes --------------------------------------------

/**
 * The bytes a claim's signature covers:
 *
 * ```
 * "meshkit/election/claim/v1" 0x00
 * u8      length of context, then context (UTF-8; meshkit: the group tag)
 * u64 BE  term
 * u8      length of leader id, then the leader id (UTF-8)
 * ```
 */
export function claimSigningBytes(context: string, term: number, leader: string): Uint8Array {
  const domain = utf8.encode(CLAIM_SIGNING_DOMAIN)
  const ctx = utf8.encode(context)
  const id = utf8.encode(leader)
  if (ctx.length > 255) throw new RangeError('claim context must be at most 255 bytes')
  if (id.length > 255) throw new RangeError('leader id must be at most 255 bytes')
  if (!Number.isSafeInteger(term) || term < 0) throw new RangeError(`term must be a non-negative integer, got ${term}`)
  const out = new Uint8Array(domain.length + 1 + 1 + ctx.length + 8 + 1 + id.length)
  const view = new DataView(out.buffer)
  let o = 0
  out.set(domain, o)
  o += domain.length + 1 // the 0x00 separator
  out[o++] = ctx.length
  out.set(ctx, o)
  o += ctx.length
  view.setBigUint64(o, BigInt(term))
  o += 8
  out[o++] = id.length
  out.set(id, o)
  return out
}

function claimToWire(claim: Claim, requireSignature: boolean): Record<string, unknown> {
  if (requireSignature && claim.signature === undefined) throw new TypeError(`claim of term ${claim.term} by ${claim.leader} is not signed`)
  return { t: claim.term, l: claim.leader, g: claim.signature, f: claim.proof }
}

// ---- messages ---------------------------------------------------------------------

/** Encodes a message; claims in it must be signed. */
export function encodeMessage(message: ElectionMessage): Uint8Array {
  switch (message.kind) {
    case 'claim':
      return encoder.encode({
        k: MessageKind.claim,
        c: claimToWire(message.claim, true),
        r: message.reply ? true : undefined,
        a: message.abandoned === true ? true : undefined,
        ld: message.leading === true ? true : undefined,
      })
    case 'ack':
      return encoder.encode({ k: MessageKind.ack, t: message.term, l: message.leader })
    case 'heartbeat':
      return encoder.encode({ k: MessageKind.heartbeat, t: message.term })
    case 'handover':
      return encoder.encode({ k: MessageKind.handover, t: message.term, s: message.successor })
  }
}

/** Decodes a message from a peer; throws {@link ElectionDecodeError}. Does not verify signatures. */
export function decodeMessage(bytes: Uint8Array): ElectionMessage {
  const m = decodeMap(bytes, 'message')
  switch (m.k) {
    case MessageKind.claim: {
      const msg: ElectionMessage = { kind: 'claim', claim: readClaim(m.c, 'c', true), reply: readOptionalBool(m.r, 'r') }
      if (readOptionalBool(m.a, 'a')) msg.abandoned = true
      if (readOptionalBool(m.ld, 'ld')) msg.leading = true
      return msg
    }
    case MessageKind.ack:
      return { kind: 'ack', term: readTerm(m.t, 't'), leader: readId(m.l, 'l') }
    case MessageKind.heartbeat:
      return { kind: 'heartbeat', term: readTerm(m.t, 't') }
    case MessageKind.handover: {
      const msg: ElectionMessage = { kind: 'handover', term: readTerm(m.t, 't') }
      if (m.s !== undefined) msg.successor = readId(m.s, 's')
      return msg
    }
    default:
      throw new ElectionDecodeError('unknown-kind', `message kind ${String(m.k)}`)
  }
}

// ---- hello extension ----------------------------------------------------------------

/** Encodes this device's hello extension; its claim must be signed. */
export function encodeHello(hello: HelloState): Uint8Array {
  return encoder.encode({
    v: ELECTION_PROTOCOL_VERSION,
    t: hello.term,
    s: ROLE_CODES[hello.role],
    p: hello.priority,
    c: hello.claim !== undefined ? claimToWire(hello.claim, true) : undefined,
    r: hello.roster,
  })
}

/** Decodes a peer's hello extension; throws {@link ElectionDecodeError}. Does not verify the claim's signature. */
export function decodeHello(bytes: Uint8Array): PeerHello {
  const m = decodeMap(bytes, 'hello')
  const version = m.v
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) throw new ElectionDecodeError('bad-field', 'v is not a version')
  // A newer peer keeps the version 1 fields: read what we understand, ignore the rest.
  const role = ROLES[typeof m.s === 'number' ? m.s : -1]
  if (role === undefined) throw new ElectionDecodeError('bad-field', 's is not a role')
  if (typeof m.p !== 'number' || !Number.isFinite(m.p)) throw new ElectionDecodeError('bad-field', 'p is not a number')
  const hello: PeerHello = { version, term: readTerm(m.t, 't'), role, priority: m.p }
  if (m.c !== undefined) hello.claim = readClaim(m.c, 'c', true)
  if (m.r !== undefined) hello.roster = readIds(m.r, 'r')
  if (hello.claim !== undefined && hello.claim.term > hello.term) throw new ElectionDecodeError('bad-field', 'claim term exceeds the term')
  return hello
}

// ---- persisted state ------------------------------------------------------------------

/** The bytes a store keeps (the identity store's `election` record). */
export function encodeState(state: ElectionState): Uint8Array {
  return encoder.encode({
    v: ELECTION_PROTOCOL_VERSION,
    t: state.term,
    c: state.vote !== undefined ? claimToWire(state.vote, false) : undefined,
    r: state.roster,
  })
}

/** Reads persisted state; throws {@link ElectionDecodeError}. */
export function decodeState(bytes: Uint8Array): ElectionState {
  const m = decodeMap(bytes, 'state')
  if (m.v !== ELECTION_PROTOCOL_VERSION) throw new ElectionDecodeError('unsupported-version', `state version ${String(m.v)}`)
  const state: ElectionState = { term: readTerm(m.t, 't') }
  if (m.c !== undefined) state.vote = readClaim(m.c, 'c', false)
  if (m.r !== undefined) state.roster = readIds(m.r, 'r')
  return state
}

// ---- field readers ------------------------------------------------------------------------

function decodeMap(bytes: Uint8Array, what: string): Record<string, unknown> {
  if (!(bytes instanceof Uint8Array)) throw new ElectionDecodeError('bad-field', `${what} is not bytes`)
  if (bytes.length > MAX_ELECTION_MESSAGE_BYTES) throw new ElectionDecodeError('too-large', `${what} of ${bytes.length} bytes exceeds ${MAX_ELECTION_MESSAGE_BYTES}`)
  let value: unknown
  try {
    value = decoder.decode(bytes)
  } catch (err) {
    throw new ElectionDecodeError('not-msgpack', `${what}: ${(err as Error).message}`, { cause: err })
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) {
    throw new ElectionDecodeError('not-a-map', `${what} is not a map`)
  }
  return value as Record<string, unknown>
}

function readTerm(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > MAX_TERM) throw new ElectionDecodeError('bad-field', `${field} is not a term (0-${MAX_TERM})`)
  return v
}

function readId(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_ID_LENGTH) throw new ElectionDecodeError('bad-field', `${field} is not a device id`)
  return v
}

function readIds(v: unknown, field: string): string[] {
  if (!Array.isArray(v) || v.length > MAX_ROSTER_SIZE) throw new ElectionDecodeError('bad-field', `${field} is not a list of device ids`)
  return v.map((x, i) => readId(x, `${field}[${i}]`))
}

function readBytes(v: unknown, field: string, max: number): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length === 0 || v.length > max) throw new ElectionDecodeError('bad-field', `${field} is not 1-${max} bytes`)
  return v
}

function readOptionalBool(v: unknown, field: string): boolean {
  if (v === undefined) return false
  if (typeof v !== 'boolean') throw new ElectionDecodeError('bad-field', `${field} is not a boolean`)
  return v
}

function readClaim(v: unknown, field: string, signed: boolean): Claim {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array) throw new ElectionDecodeError('bad-field', `${field} is not a claim`)
  const m = v as Record<string, unknown>
  const claim: Claim = { term: readTerm(m.t, `${field}.t`), leader: readId(m.l, `${field}.l`) }
  if (claim.term < 1) throw new ElectionDecodeError('bad-field', `${field}.t: claims start at term 1`)
  if (m.g !== undefined || signed) claim.signature = readBytes(m.g, `${field}.g`, MAX_SIGNATURE_BYTES)
  if (m.f !== undefined) claim.proof = readBytes(m.f, `${field}.f`, MAX_PROOF_BYTES)
  return claim
}
