/**
 * Ed25519 behind one small module. tweetnacl is the portable definition of the
 * identity format (key generation, seeds, hashing); signing and verifying on the
 * hot path go through the platform (node:crypto), which is ~150-300x faster and
 * gives byte-identical signatures (Ed25519 is deterministic; a test checks both).
 */
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto'
import nacl from 'tweetnacl'

/** An Ed25519 key pair in tweetnacl's layout: 32-byte public key, 64-byte secret key (seed || public key). */
export interface KeyPair {
  publicKey: Uint8Array
  secretKey: Uint8Array
}

export const PUBLIC_KEY_BYTES = nacl.sign.publicKeyLength
export const SECRET_KEY_BYTES = nacl.sign.secretKeyLength
export const SIGNATURE_BYTES = nacl.sign.signatureLength
export const SEED_BYTES = nacl.sign.seedLength

/** A fresh random key pair (tweetnacl, from the platform's CSPRNG). */
export function generateKeyPair(): KeyPair {
  return nacl.sign.keyPair()
}

/** The key pair determined by a 32-byte seed. */
export function keyPairFromSeed(seed: Uint8Array): KeyPair {
  return nacl.sign.keyPair.fromSeed(seed)
}

/** The key pair of a 64-byte secret key; checks that its public half matches its seed. */
export function keyPairFromSecretKey(secretKey: Uint8Array): KeyPair | undefined {
  if (secretKey.length !== SECRET_KEY_BYTES) return undefined
  const derived = nacl.sign.keyPair.fromSeed(secretKey.subarray(0, SEED_BYTES))
  if (!equalBytes(derived.publicKey, secretKey.subarray(SEED_BYTES))) return undefined
  return derived
}

const b64url = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url')

// KeyObjects are costly to build (~20 us) compared with a verify (~80 us);
// keep the ones in use. Bounded: a hostile peer cannot grow it without limit.
const MAX_CACHED_KEYS = 1024
const privateKeys = new Map<string, KeyObject>()
const publicKeys = new Map<string, KeyObject>()

function cached(cache: Map<string, KeyObject>, id: string, make: () => KeyObject): KeyObject {
  let key = cache.get(id)
  if (key === undefined) {
    key = make()
    if (cache.size >= MAX_CACHED_KEYS) cache.delete(cache.keys().next().value as string)
    cache.set(id, key)
  }
  return key
}

function nodePrivateKey(secretKey: Uint8Array): KeyObject {
  const x = b64url(secretKey.subarray(SEED_BYTES))
  return cached(privateKeys, x, () =>
    createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: b64url(secretKey.subarray(0, SEED_BYTES)), x }, format: 'jwk' }),
  )
}

function nodePublicKey(publicKey: Uint8Array): KeyObject {
  const x = b64url(publicKey)
  return cached(publicKeys, x, () => createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' }))
}

/** Ed25519 signature of `message` (64 bytes), via node:crypto. */
export function sign(secretKey: Uint8Array, message: Uint8Array): Uint8Array {
  if (secretKey.length !== SECRET_KEY_BYTES) throw new RangeError(`an Ed25519 secret key has ${SECRET_KEY_BYTES} bytes, got ${secretKey.length}`)
  return new Uint8Array(nodeSign(null, message, nodePrivateKey(secretKey)))
}

/** Whether `signature` is a valid Ed25519 signature of `message` by `publicKey`. Never throws on bad input. */
export function verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== PUBLIC_KEY_BYTES || signature.length !== SIGNATURE_BYTES) return false
  try {
    return nodeVerify(null, message, nodePublicKey(publicKey), signature)
  } catch {
    // e.g. a public key that is not a point on the curve
    return false
  }
}

/** The portable (pure JavaScript) implementations, for platforms without node:crypto and for cross-checks. */
export const portable = {
  sign: (secretKey: Uint8Array, message: Uint8Array): Uint8Array => nacl.sign.detached(message, secretKey),
  verify: (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean =>
    publicKey.length === PUBLIC_KEY_BYTES && signature.length === SIGNATURE_BYTES && nacl.sign.detached.verify(message, signature, publicKey),
}

/** SHA-512 (tweetnacl). */
export function sha512(data: Uint8Array): Uint8Array {
  return nacl.hash(data)
}

/** Constant-time comparison of two byte arrays. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && (a.length === 0 || nacl.verify(a, b))
}
