import { randomUUID } from 'node:crypto'
import { InvalidDeviceIdError } from './errors.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** A new random (version 4) device id. */
export function generateDeviceId(): string {
  return randomUUID()
}

/** Whether `value` is a device id: a lowercase RFC 4122 UUID. */
export function isDeviceId(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value)
}

/** Returns `value` if it is a device id, else throws {@link InvalidDeviceIdError}. */
export function assertDeviceId(value: string): string {
  if (!isDeviceId(value)) throw new InvalidDeviceIdError(value)
  return value
}

/** The 16 bytes of a device id. */
export function deviceIdToBytes(id: string): Uint8Array {
  return Uint8Array.from(Buffer.from(assertDeviceId(id).replaceAll('-', ''), 'hex'))
}

/** The device id spelled by 16 bytes. */
export function deviceIdFromBytes(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new InvalidDeviceIdError(Buffer.from(bytes).toString('hex'))
  const hex = Buffer.from(bytes).toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/**
 * The total order on device ids that every meshkit rule uses (who dials, which
 * duplicate connection stays, election tie-breaks): plain lexicographic order of
 * the lowercase strings, which equals the order of their bytes.
 */
export function compareDeviceIds(a: string, b: string): -1 | 0 | 1 {
  return a < b ? -1 : a > b ? 1 : 0
}
