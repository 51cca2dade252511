/**
 * The device identity: a UUID generated once and an Ed25519 key persisted beside
 * it. The id never changes (restarts, new addresses, key rotation); a corrupt
 * record is an error, never a reason to invent a new identity.
 */
import { IDENTITY_FORMAT_VERSION, IDENTITY_RECORD } from './constants.js'
import { generateDeviceId, isDeviceId } from './device-id.js'
import { generateKeyPair, keyPairFromSecretKey, sign, type KeyPair } from './ed25519.js'
import { IdentityCorruptError } from './errors.js'
import type { IdentityStore, StoreLock } from './store.js'

/** This device: its stable id and its key. */
export interface DeviceIdentity {
  /** The device's UUID: stable for the life of the install. */
  readonly id: string
  /** Ed25519 public key (32 bytes). */
  readonly publicKey: Uint8Array
  /** Ed25519 secret key (64 bytes, tweetnacl layout). Not enumerable, so it stays out of logs and JSON. */
  readonly secretKey: Uint8Array
  /** When the id was created (ms since the epoch). */
  readonly createdAt: number
  /** Signs with the device key (Ed25519). */
  sign: (message: Uint8Array) => Uint8Array
}

interface IdentityRecord {
  format: number
  id: string
  secretKey: string
  createdAt: number
}

function toIdentity(id: string, keys: KeyPair, createdAt: number): DeviceIdentity {
  const identity = { id, publicKey: keys.publicKey, createdAt, sign: (message: Uint8Array) => sign(keys.secretKey, message) }
  Object.defineProperty(identity, 'secretKey', { value: keys.secretKey, enumerable: false })
  return Object.freeze(identity) as DeviceIdentity
}

function encodeRecord(identity: DeviceIdentity): Uint8Array {
  const record: IdentityRecord = {
    format: IDENTITY_FORMAT_VERSION,
    id: identity.id,
    secretKey: Buffer.from(identity.secretKey).toString('base64'),
    createdAt: identity.createdAt,
  }
  return new TextEncoder().encode(`${JSON.stringify(record, null, 2)}\n`)
}

function decodeRecord(location: string, bytes: Uint8Array): DeviceIdentity {
  let record: Partial<IdentityRecord>
  try {
    record = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as Partial<IdentityRecord>
  } catch (err) {
    throw new IdentityCorruptError(location, 'not valid JSON', { cause: err })
  }
  if (record === null || typeof record !== 'object') throw new IdentityCorruptError(location, 'not a JSON object')
  if (record.format !== IDENTITY_FORMAT_VERSION) throw new IdentityCorruptError(location, `unknown format ${String(record.format)}`)
  if (!isDeviceId(record.id)) throw new IdentityCorruptError(location, 'the id is not a UUID')
  if (typeof record.createdAt !== 'number' || !Number.isFinite(record.createdAt)) throw new IdentityCorruptError(location, 'createdAt is not a number')
  if (typeof record.secretKey !== 'string') throw new IdentityCorruptError(location, 'secretKey is missing')
  const keys = keyPairFromSecretKey(Uint8Array.from(Buffer.from(record.secretKey, 'base64')))
  if (keys === undefined) throw new IdentityCorruptError(location, 'secretKey is not a valid Ed25519 secret key')
  return toIdentity(record.id, keys, record.createdAt)
}

/**
 * Loads the device identity from the store, creating and persisting a new one
 * only when none was ever written. Throws `IdentityCorruptError` for a damaged
 * record and `IdentityStorageError` when the store cannot be read.
 */
export async function loadOrCreateIdentity(store: IdentityStore): Promise<DeviceIdentity> {
  const bytes = await store.read(IDENTITY_RECORD)
  if (bytes !== undefined) return decodeRecord(`${store.location}/${IDENTITY_RECORD}`, bytes)
  const identity = toIdentity(generateDeviceId(), generateKeyPair(), Date.now())
  await store.write(IDENTITY_RECORD, encodeRecord(identity))
  return identity
}

/** An identity opened for a running instance: it holds the store's lock until `close()`. */
export interface OpenIdentity {
  identity: DeviceIdentity
  store: IdentityStore
  close: () => Promise<void>
}

/**
 * Locks the store (one running instance per identity: a second gets
 * `IdentityLockedError`) and loads or creates the identity.
 */
export async function openIdentity(store: IdentityStore): Promise<OpenIdentity> {
  const lock: StoreLock = await store.lock()
  try {
    const identity = await loadOrCreateIdentity(store)
    return { identity, store, close: lock.release }
  } catch (err) {
    await lock.release()
    throw err
  }
}

/**
 * Replaces the device key, keeping the device id. Credentials issued for the old
 * key stop matching: issue a new one for the returned identity.
 */
export async function rotateDeviceKey(store: IdentityStore, current: DeviceIdentity): Promise<DeviceIdentity> {
  const next = toIdentity(current.id, generateKeyPair(), current.createdAt)
  await store.write(IDENTITY_RECORD, encodeRecord(next))
  return next
}

/** An identity that lives only in memory (tests, simulations). */
export function ephemeralIdentity(id = generateDeviceId()): DeviceIdentity {
  return toIdentity(id, generateKeyPair(), Date.now())
}
