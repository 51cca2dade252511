import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { generateKeyPair, keyPairFromSecretKey, keyPairFromSeed, portable, sign, verify } from '../src/index.js'

describe('Ed25519 through node:crypto and tweetnacl', () => {
  test('both give byte-identical signatures and accept each other\'s', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 512 }), (seed, message) => {
        const keys = keyPairFromSeed(seed)
        const fast = sign(keys.secretKey, message)
        const slow = portable.sign(keys.secretKey, message)
        expect(Buffer.from(fast).equals(Buffer.from(slow))).toBe(true)
        expect(verify(keys.publicKey, message, slow)).toBe(true)
        expect(portable.verify(keys.publicKey, message, fast)).toBe(true)
      }),
      { numRuns: 50 },
    )
  })

  test('a changed message, key or signature does not verify', () => {
    const keys = generateKeyPair()
    const other = generateKeyPair()
    const message = new TextEncoder().encode('leader claim')
    const signature = sign(keys.secretKey, message)
    expect(verify(keys.publicKey, message, signature)).toBe(true)
    expect(verify(other.publicKey, message, signature)).toBe(false)
    expect(verify(keys.publicKey, new TextEncoder().encode('leader claim!'), signature)).toBe(false)
    const flipped = signature.slice()
    flipped[10] = (flipped[10] ?? 0) ^ 1
    expect(verify(keys.publicKey, message, flipped)).toBe(false)
  })

  test('malformed keys and signatures are rejected without throwing', () => {
    const keys = generateKeyPair()
    const message = new Uint8Array([1, 2, 3])
    expect(verify(new Uint8Array(31), message, new Uint8Array(64))).toBe(false)
    expect(verify(keys.publicKey, message, new Uint8Array(63))).toBe(false)
    expect(verify(new Uint8Array(32).fill(0xff), message, new Uint8Array(64))).toBe(false)
    expect(() => sign(new Uint8Array(10), message)).toThrow(RangeError)
  })

  test('a secret key whose public half does not match its seed is refused', () => {
    const keys = generateKeyPair()
    expect(keyPairFromSecretKey(keys.secretKey)?.publicKey).toEqual(keys.publicKey)
    const broken = keys.secretKey.slice()
    broken[40] = (broken[40] ?? 0) ^ 1
    expect(keyPairFromSecretKey(broken)).toBeUndefined()
    expect(keyPairFromSecretKey(new Uint8Array(12))).toBeUndefined()
  })
})
