/**
 * Signing and verifying claims, injected into the driver: the state machine
 * never sees keys. A claim must be unforgeable because it travels through
 * third parties (answers to stale claims, hellos, forwards); heartbeats and
 * acknowledgements go straight over the authenticated connection unsigned.
 */
import { decodeCredential, verify, verifyCredential } from '@meshkit/identity'

/** Signs this device's claims. */
export interface ClaimSigner {
  /** Signature of `message` (the claim's signing bytes) with this device's key. */
  sign: (message: Uint8Array) => Uint8Array
  /**
   * Attached to this device's claims so that a device that never connected to
   * it can check its key (meshkit: its group credential, 121 bytes).
   */
  readonly proof?: Uint8Array
}

/** Verifies claims of other devices. Never throws: anything wrong is `false`. */
export interface ClaimVerifier {
  verify: (signer: string, message: Uint8Array, signature: Uint8Array, proof: Uint8Array | undefined) => boolean
}

export interface IdentityClaimCryptoInit {
  /** This device (from `@meshkit/identity`). */
  identity: { id: string; sign: (message: Uint8Array) => Uint8Array }
  /** This device's encoded group credential (`encodeCredential`). */
  credential: Uint8Array
  /** The group's public key: a proof must be a credential it signed for the signer. */
  groupPublicKey: Uint8Array
  /** Keys already proven by connections (the connection layer's `peer:connected` `publicKey`). Optional fast path. */
  publicKeyOf?: (deviceId: string) => Uint8Array | undefined
}

/**
 * Ed25519 claims with meshkit identities: signed with the device key, verified
 * with the signer's key as proven by its connection, or else by the group
 * credential carried in the claim.
 */
export function identityClaimCrypto(init: IdentityClaimCryptoInit): { signer: ClaimSigner; verifier: ClaimVerifier } {
  return {
    signer: { sign: (message) => init.identity.sign(message), proof: init.credential },
    verifier: {
      verify(signer, message, signature, proof) {
        const known = init.publicKeyOf?.(signer)
        if (known !== undefined) return verify(known, message, signature)
        if (proof === undefined) return false
        try {
          const credential = verifyCredential(init.groupPublicKey, decodeCredential(proof), { deviceId: signer })
          return verify(credential.publicKey, message, signature)
        } catch {
          return false
        }
      },
    },
  }
}
