/**
 * Credentials: the group's signature over (device id, device public key,
 * issued-at). Encoded as 121 bytes:
 *
 * ```
 * u8      version (1)
 * [16]    device id (UUID bytes)
 * [32]    device Ed25519 public key
 * u64 BE  issued-at, milliseconds since the Unix epoch
 * [64]    Ed25519 signature by the group key over
 *         "meshkit/credential/v1\0" || the 57 bytes above
 * ```
 */
import { CREDENTIAL_CONTEXT, CREDENTIAL_VERSION } from './constants.js'
import { deviceIdFromBytes, deviceIdToBytes, isDeviceId } from './device-id.js'
import { equalBytes, PUBLIC_KEY_BYTES, sign, SIGNATURE_BYTES, verify } from './ed25519.js'
import { CredentialRejectedError } from './errors.js'
import type { GroupKey } from './group.js'

/** A decoded credential. */
export interface Credential {
  version: number
  deviceId: string
  publicKey: Uint8Array
  issuedAt: number
  signature: Uint8Array
}

const BODY_BYTES = 1 + 16 + PUBLIC_KEY_BYTES + 8
/** Length of an encoded credential. */
export const CREDENTIAL_BYTES = BODY_BYTES + SIGNATURE_BYTES
const context = new TextEncoder().encode(CREDENTIAL_CONTEXT)

function signedBytes(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(context.length + body.length)
  out.set(context)
  out.set(body, context.length)
  return out
}

function encodeBody(deviceId: string, publicKey: Uint8Array, issuedAt: number, version: number): Uint8Array {
  const body = new Uint8Array(BODY_BYTES)
  const view = new DataView(body.buffer)
  body[0] = version
  body.set(deviceIdToBytes(deviceId), 1)
  body.set(publicKey, 17)
  view.setBigUint64(17 + PUBLIC_KEY_BYTES, BigInt(issuedAt))
  return body
}

/** Issues a credential for a device, signed with the group key. */
export function issueCredential(group: GroupKey, deviceId: string, publicKey: Uint8Array, issuedAt = Date.now()): Credential {
  if (publicKey.length !== PUBLIC_KEY_BYTES) throw new RangeError(`a device public key has ${PUBLIC_KEY_BYTES} bytes, got ${publicKey.length}`)
  if (!Number.isSafeInteger(issuedAt) || issuedAt < 0) throw new RangeError(`issuedAt must be a non-negative integer (ms), got ${issuedAt}`)
  const body = encodeBody(deviceId, publicKey, issuedAt, CREDENTIAL_VERSION)
  return {
    version: CREDENTIAL_VERSION,
    deviceId,
    publicKey: publicKey.slice(),
    issuedAt,
    signature: sign(group.secretKey, signedBytes(body)),
  }
}

/** The 121-byte wire form of a credential. */
export function encodeCredential(credential: Credential): Uint8Array {
  const out = new Uint8Array(CREDENTIAL_BYTES)
  out.set(encodeBody(credential.deviceId, credential.publicKey, credential.issuedAt, credential.version))
  out.set(credential.signature, BODY_BYTES)
  return out
}

/** Parses the wire form; throws {@link CredentialRejectedError} (`malformed`, `unsupported-version`). Does not verify. */
export function decodeCredential(bytes: Uint8Array): Credential {
  if (!(bytes instanceof Uint8Array) || bytes.length !== CREDENTIAL_BYTES) {
    throw new CredentialRejectedError('malformed', `expected ${CREDENTIAL_BYTES} bytes, got ${bytes instanceof Uint8Array ? bytes.length : typeof bytes}`)
  }
  const version = bytes[0] ?? 0
  if (version !== CREDENTIAL_VERSION) {
    throw new CredentialRejectedError('unsupported-version', `version ${version}, this build understands ${CREDENTIAL_VERSION}`)
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const issuedAt = view.getBigUint64(17 + PUBLIC_KEY_BYTES)
  if (issuedAt > BigInt(Number.MAX_SAFE_INTEGER)) throw new CredentialRejectedError('malformed', 'issued-at out of range')
  const deviceId = deviceIdFromBytes(bytes.subarray(1, 17))
  if (!isDeviceId(deviceId)) throw new CredentialRejectedError('malformed', 'device id is not a UUID')
  return {
    version,
    deviceId,
    publicKey: bytes.slice(17, 17 + PUBLIC_KEY_BYTES),
    issuedAt: Number(issuedAt),
    signature: bytes.slice(BODY_BYTES),
  }
}

/** What a verifier expects the credential to name (from the hello and from the TLS-proven key). */
export interface CredentialExpectations {
  deviceId?: string
  publicKey?: Uint8Array
}

/**
 * Verifies a credential against the group public key and, when given, the device
 * id and public key it must name. Throws {@link CredentialRejectedError}
 * (`bad-signature`, `wrong-uuid`, `wrong-key`); returns the credential otherwise.
 */
export function verifyCredential(groupPublicKey: Uint8Array, credential: Credential, expect: CredentialExpectations = {}): Credential {
  if (expect.deviceId !== undefined && credential.deviceId !== expect.deviceId) {
    throw new CredentialRejectedError('wrong-uuid', `it names device ${credential.deviceId}, the peer says it is ${expect.deviceId}`)
  }
  if (expect.publicKey !== undefined && !equalBytes(credential.publicKey, expect.publicKey)) {
    throw new CredentialRejectedError('wrong-key', 'it names another public key than the one the peer proved in the QUIC handshake')
  }
  const body = encodeBody(credential.deviceId, credential.publicKey, credential.issuedAt, credential.version)
  if (!verify(groupPublicKey, signedBytes(body), credential.signature)) {
    throw new CredentialRejectedError('bad-signature', 'it is not signed by this group (another group, or forged)')
  }
  return credential
}
