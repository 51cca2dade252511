/**
 * Group trust. A group secret (shared between the owner's devices) determines a
 * group signing key; every member holds a credential: the group's signature over
 * its device id, its device public key and the time it was issued.
 */
import { randomBytes } from 'node:crypto'
import { GROUP_KEY_CONTEXT, GROUP_TAG_BYTES, MIN_GROUP_SECRET_BYTES } from './constants.js'
import { keyPairFromSeed, SEED_BYTES, sha512, type KeyPair } from './ed25519.js'
import { InvalidGroupSecretError } from './errors.js'

/** The group's Ed25519 key pair and its short public tag. */
export interface GroupKey extends KeyPair {
  /** Short hex tag of the group public key, advertised so devices skip foreign groups before dialing. */
  tag: string
}

/** A group as seen by a device that can only verify (it holds the public key, not the secret). */
export interface GroupPublicKey {
  publicKey: Uint8Array
  tag: string
}

const encoder = new TextEncoder()

/** 32 random bytes, base64url: a group secret to share between your devices. */
export function generateGroupSecret(): string {
  // Never starting with '-' or '_': secrets are typed after `--secret` on command
  // lines, where a leading dash reads as another flag. (1 in 32 draws is redrawn.)
  for (;;) {
    const secret = randomBytes(32).toString('base64url')
    if (/^[A-Za-z0-9]/.test(secret)) return secret
  }
}

/**
 * The group key determined by `secret`: seed = first 32 bytes of
 * SHA-512("meshkit/group-key/v1\0" || secret). The same secret gives the same key
 * on every device and platform (tweetnacl is the reference implementation).
 *
 * The secret must have at least {@link MIN_GROUP_SECRET_BYTES} bytes; anyone who
 * holds a member's credential can try to guess a weak secret offline, so use
 * {@link generateGroupSecret}.
 */
export function deriveGroupKey(secret: string | Uint8Array): GroupKey {
  if (typeof secret !== 'string' && !(secret instanceof Uint8Array)) {
    throw new InvalidGroupSecretError(`expected a string or Uint8Array, got ${secret === null ? 'null' : typeof secret}`)
  }
  const bytes = typeof secret === 'string' ? encoder.encode(secret) : secret
  if (bytes.length < MIN_GROUP_SECRET_BYTES) {
    throw new InvalidGroupSecretError(`it has ${bytes.length} bytes, at least ${MIN_GROUP_SECRET_BYTES} are required`)
  }
  const context = encoder.encode(GROUP_KEY_CONTEXT)
  const input = new Uint8Array(context.length + bytes.length)
  input.set(context)
  input.set(bytes, context.length)
  const pair = keyPairFromSeed(sha512(input).subarray(0, SEED_BYTES))
  return { ...pair, tag: groupTag(pair.publicKey) }
}

/** The short tag of a group public key: hex of the first bytes of its SHA-512. */
export function groupTag(groupPublicKey: Uint8Array): string {
  return Buffer.from(sha512(groupPublicKey).subarray(0, GROUP_TAG_BYTES)).toString('hex')
}
