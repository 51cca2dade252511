import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import {
  compareDeviceIds,
  CREDENTIAL_BYTES,
  CredentialRejectedError,
  decodeCredential,
  deriveGroupKey,
  deviceIdFromBytes,
  deviceIdToBytes,
  encodeCredential,
  generateDeviceId,
  generateGroupSecret,
  generateKeyPair,
  InvalidDeviceIdError,
  InvalidGroupSecretError,
  issueCredential,
  verifyCredential,
} from '../src/index.js'

const rejection = (fn: () => unknown): string => {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(CredentialRejectedError)
    return (err as CredentialRejectedError).reason
  }
  throw new Error('expected a CredentialRejectedError')
}

describe('device ids', () => {
  test('bytes round-trip and the string order equals the byte order', () => {
    fc.assert(
      fc.property(fc.uuid({ version: 4 }), fc.uuid({ version: 4 }), (a, b) => {
        expect(deviceIdFromBytes(deviceIdToBytes(a))).toBe(a)
        const byBytes = Buffer.compare(Buffer.from(deviceIdToBytes(a)), Buffer.from(deviceIdToBytes(b)))
        expect(compareDeviceIds(a, b)).toBe(byBytes)
      }),
    )
  })

  test('non-UUIDs are refused with a typed error', () => {
    expect(() => deviceIdToBytes('not-a-uuid')).toThrow(InvalidDeviceIdError)
    expect(() => deviceIdToBytes(generateDeviceId().toUpperCase())).toThrow(InvalidDeviceIdError)
  })
})

describe('group keys', () => {
  test('the same secret gives the same key on every device; another secret another key', () => {
    const secret = generateGroupSecret()
    expect(deriveGroupKey(secret).publicKey).toEqual(deriveGroupKey(secret).publicKey)
    expect(deriveGroupKey(secret).tag).toMatch(/^[0-9a-f]{12}$/)
    expect(deriveGroupKey(generateGroupSecret()).tag).not.toBe(deriveGroupKey(secret).tag)
    expect(deriveGroupKey(new TextEncoder().encode(secret)).publicKey).toEqual(deriveGroupKey(secret).publicKey)
  })

  test('generated secrets are 43 URL-safe characters and never start with a dash (they follow --secret on command lines)', () => {
    // about 1 in 32 raw draws would start with '-' or '_': 2000 secrets would show it
    const secrets = Array.from({ length: 2000 }, () => generateGroupSecret())
    for (const s of secrets) expect(s).toMatch(/^[A-Za-z0-9][A-Za-z0-9_-]{42}$/)
    expect(new Set(secrets).size).toBe(secrets.length)
  })

  test('short or mistyped secrets are refused', () => {
    expect(() => deriveGroupKey('hunter2')).toThrow(InvalidGroupSecretError)
    expect(() => deriveGroupKey(undefined as unknown as string)).toThrow(InvalidGroupSecretError)
    expect(() => deriveGroupKey(42 as unknown as string)).toThrow(/string or Uint8Array/)
  })
})

describe('credentials', () => {
  const group = deriveGroupKey(generateGroupSecret())
  const device = generateKeyPair()
  const id = generateDeviceId()

  test('a credential verifies for the device it names and round-trips through its 121-byte form', () => {
    const credential = issueCredential(group, id, device.publicKey, 1_700_000_000_000)
    const wire = encodeCredential(credential)
    expect(wire.length).toBe(CREDENTIAL_BYTES)
    const decoded = decodeCredential(wire)
    expect(decoded).toEqual(credential)
    expect(verifyCredential(group.publicKey, decoded, { deviceId: id, publicKey: device.publicKey })).toEqual(credential)
  })

  test('another group, an impostor key, another uuid or any flipped bit is rejected with its reason', () => {
    const credential = issueCredential(group, id, device.publicKey)
    const foreign = deriveGroupKey(generateGroupSecret())
    expect(rejection(() => verifyCredential(foreign.publicKey, credential))).toBe('bad-signature')
    expect(rejection(() => verifyCredential(group.publicKey, credential, { publicKey: generateKeyPair().publicKey }))).toBe('wrong-key')
    expect(rejection(() => verifyCredential(group.publicKey, credential, { deviceId: generateDeviceId() }))).toBe('wrong-uuid')
    const wire = encodeCredential(credential)
    fc.assert(
      fc.property(fc.integer({ min: 1, max: CREDENTIAL_BYTES * 8 - 1 }), (bit) => {
        const tampered = wire.slice()
        tampered[bit >> 3] = (tampered[bit >> 3] ?? 0) ^ (1 << (bit & 7))
        const reason = rejection(() => verifyCredential(group.publicKey, decodeCredential(tampered)))
        expect(['bad-signature', 'unsupported-version', 'malformed']).toContain(reason)
      }),
      { numRuns: 200 },
    )
  })

  test('any byte string decodes to a credential or a typed rejection, never another error', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ minLength: CREDENTIAL_BYTES, maxLength: CREDENTIAL_BYTES })), (bytes) => {
        try {
          decodeCredential(bytes)
        } catch (err) {
          expect(err).toBeInstanceOf(CredentialRejectedError)
        }
      }),
    )
    expect(rejection(() => decodeCredential(new Uint8Array(CREDENTIAL_BYTES)))).toBe('unsupported-version')
  })

  test('bad arguments to issueCredential are RangeErrors', () => {
    expect(() => issueCredential(group, id, new Uint8Array(3))).toThrow(RangeError)
    expect(() => issueCredential(group, id, device.publicKey, -1)).toThrow(RangeError)
  })
})
