/**
 * Claim signatures for simulations: a keyed hash standing in for Ed25519 (fast,
 * deterministic). Only the device named `signer` can produce it here; a
 * forgery (random bytes, or another device's signature) does not verify.
 */
import type { ClaimSigner, ClaimVerifier } from '../../src/index.js'

function digest(signer: string, message: Uint8Array): Uint8Array {
  // Two independent FNV-1a lanes over (secret of signer || message): 8 bytes.
  let h1 = 0x811c9dc5
  let h2 = 0x01000193 ^ 0x5bd1e995
  const feed = (byte: number): void => {
    h1 = Math.imul(h1 ^ byte, 0x01000193) >>> 0
    h2 = Math.imul(h2 ^ byte, 0x5bd1e995) >>> 0
  }
  for (let i = 0; i < signer.length; i++) feed(signer.charCodeAt(i) & 0xff)
  feed(0)
  for (const b of message) feed(b)
  const out = new Uint8Array(8)
  new DataView(out.buffer).setUint32(0, h1)
  new DataView(out.buffer).setUint32(4, h2)
  return out
}

export function fakeSigner(id: string): ClaimSigner {
  return { sign: (message) => digest(`secret:${id}`, message) }
}

export const fakeVerifier: ClaimVerifier = {
  verify(signer, message, signature) {
    const expected = digest(`secret:${signer}`, message)
    return signature.length === expected.length && signature.every((b, i) => b === expected[i])
  },
}
