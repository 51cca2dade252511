/**
 * The hello: what two devices tell each other right after the QUIC handshake,
 * and the pure checks that bind it to the key TLS proved. msgpack map with short
 * keys (PROTOCOL.md):
 *
 * | key | type | meaning |
 * | --- | --- | --- |
 * | v | uint | protocol version |
 * | id | str | device id (UUID) |
 * | c | bin(121) | group credential |
 * | e | bin(8) | session epoch, random per start |
 * | n | bin(8) | connection nonce, random per connection |
 * | g | str | group tag |
 * | a | [str] | listen addresses, `host:port` |
 * | mm | uint | largest message the sender accepts |
 * | w | uint | window (bytes in flight) the sender grants per channel stream |
 * | x | map | extensions of upper layers (election state, app metadata) |
 */
import { decode, encode } from '@msgpack/msgpack'
import { CredentialRejectedError, decodeCredential, isDeviceId, verifyCredential, type Credential } from '@meshkit/identity'
import { MAX_HELLO_BYTES, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION } from './constants.js'
import { ConnectionRejectedError } from './errors.js'

export interface Hello {
  version: number
  id: string
  credential: Uint8Array
  epoch: Uint8Array
  nonce: Uint8Array
  groupTag: string
  addresses: string[]
  maxMessageBytes: number
  windowBytes: number
  ext: Record<string, unknown>
}

/** A hello that passed every check, with its decoded credential. */
export interface VerifiedHello extends Hello {
  decodedCredential: Credential
}

export function encodeHello(hello: Hello): Uint8Array {
  return encode({
    v: hello.version,
    id: hello.id,
    c: hello.credential,
    e: hello.epoch,
    n: hello.nonce,
    g: hello.groupTag,
    a: hello.addresses,
    mm: hello.maxMessageBytes,
    w: hello.windowBytes,
    x: hello.ext,
  })
}

const malformed = (detail: string, cause?: unknown): ConnectionRejectedError =>
  new ConnectionRejectedError('malformed-hello', detail, undefined, cause === undefined ? undefined : { cause })

const isBytes = (value: unknown, length?: number): value is Uint8Array =>
  value instanceof Uint8Array && (length === undefined || value.length === length)
const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value > 0

/**
 * Decodes a hello. The version is checked first, so a peer from the future gets
 * `version-unsupported` even if the rest of its hello has a shape we do not know.
 */
export function decodeHello(bytes: Uint8Array): Hello {
  if (bytes.length > MAX_HELLO_BYTES) throw malformed(`${bytes.length} bytes, at most ${MAX_HELLO_BYTES}`)
  let raw: unknown
  try {
    raw = decode(bytes)
  } catch (err) {
    throw malformed('not msgpack', err)
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw malformed('not a map')
  const m = raw as Record<string, unknown>
  if (typeof m.v !== 'number' || !Number.isSafeInteger(m.v)) throw malformed('no protocol version')
  if (m.v > PROTOCOL_VERSION || m.v < MIN_PROTOCOL_VERSION) {
    throw new ConnectionRejectedError(
      'version-unsupported',
      `peer speaks protocol ${m.v}, this build speaks ${MIN_PROTOCOL_VERSION}..${PROTOCOL_VERSION}: update the older device`,
      typeof m.id === 'string' && isDeviceId(m.id) ? m.id : undefined,
    )
  }
  if (!isDeviceId(m.id)) throw malformed('id is not a device id (UUID)')
  if (!isBytes(m.c)) throw malformed('no credential')
  if (!isBytes(m.e, 8)) throw malformed('epoch is not 8 bytes')
  if (!isBytes(m.n, 8)) throw malformed('nonce is not 8 bytes')
  if (typeof m.g !== 'string' || m.g.length > 64) throw malformed('no group tag')
  if (!Array.isArray(m.a) || m.a.length > 32 || !m.a.every((a) => typeof a === 'string' && a.length <= 128)) throw malformed('addresses are not a list of strings')
  if (!isCount(m.mm)) throw malformed('no max message size')
  if (!isCount(m.w)) throw malformed('no window')
  const ext = m.x ?? {}
  if (ext === null || typeof ext !== 'object' || Array.isArray(ext)) throw malformed('extensions are not a map')
  return {
    version: m.v,
    id: m.id,
    credential: m.c,
    epoch: m.e,
    nonce: m.n,
    groupTag: m.g,
    addresses: m.a as string[],
    maxMessageBytes: m.mm,
    windowBytes: m.w,
    ext: ext as Record<string, unknown>,
  }
}

export interface HelloContext {
  localId: string
  group: { publicKey: Uint8Array; tag: string }
  /** The Ed25519 public key the peer proved in the QUIC/TLS handshake. */
  tlsPublicKey: Uint8Array
  /** The device id we expected at this address, when known (discovery, static config). */
  expectedId?: string
}

/**
 * The checks that bind a hello to its connection. Throws
 * {@link ConnectionRejectedError} with the reason; returns the verified hello.
 */
export function checkHello(hello: Hello, ctx: HelloContext): VerifiedHello {
  if (hello.id === ctx.localId) throw new ConnectionRejectedError('self', 'connected to ourselves (our own address was dialed)', hello.id)
  if (hello.groupTag !== ctx.group.tag) {
    throw new ConnectionRejectedError('wrong-group', `peer belongs to group ${hello.groupTag}, we to ${ctx.group.tag}`, hello.id)
  }
  if (ctx.expectedId !== undefined && hello.id !== ctx.expectedId) {
    throw new ConnectionRejectedError('unexpected-peer', `expected device ${ctx.expectedId} at this address, found ${hello.id}`, hello.id)
  }
  let credential: Credential
  try {
    credential = verifyCredential(ctx.group.publicKey, decodeCredential(hello.credential), { deviceId: hello.id, publicKey: ctx.tlsPublicKey })
  } catch (err) {
    if (err instanceof CredentialRejectedError && (err.reason === 'wrong-key' || err.reason === 'wrong-uuid')) {
      throw new ConnectionRejectedError('impostor', `claims to be ${hello.id} but ${err.message}`, hello.id, { cause: err })
    }
    throw new ConnectionRejectedError('bad-credential', (err as Error).message, hello.id, { cause: err })
  }
  return { ...hello, decodedCredential: credential }
}
