/**
 * @packageDocumentation
 *
 * Who a device is and whom it trusts.
 *
 * - A stable device id (UUID v4) generated once and persisted, and an Ed25519
 *   device key beside it ({@link openIdentity}, {@link fileStore}, {@link memoryStore}).
 * - Group trust: a shared group secret determines a group signing key
 *   ({@link deriveGroupKey}); each member holds a credential, the group's signature
 *   over (device id, device public key, issued-at) ({@link issueCredential},
 *   {@link verifyCredential}).
 * - Ed25519 through the platform (node:crypto) with tweetnacl as the portable
 *   reference ({@link sign}, {@link verify}, {@link portable}).
 *
 * @example
 * ```ts
 * import { defaultStoreDir, deriveGroupKey, fileStore, issueCredential, openIdentity } from '@meshkit/identity'
 *
 * const { identity, close } = await openIdentity(fileStore(defaultStoreDir('myapp')))
 * const group = deriveGroupKey(process.env.MESH_SECRET!)
 * const credential = issueCredential(group, identity.id, identity.publicKey)
 * console.log(identity.id, group.tag)
 * await close()
 * ```
 */
export * from './constants.js'
export * from './errors.js'
export { assertDeviceId, compareDeviceIds, deviceIdFromBytes, deviceIdToBytes, generateDeviceId, isDeviceId } from './device-id.js'
export {
  equalBytes,
  generateKeyPair,
  keyPairFromSecretKey,
  keyPairFromSeed,
  portable,
  PUBLIC_KEY_BYTES,
  SECRET_KEY_BYTES,
  sha512,
  sign,
  SIGNATURE_BYTES,
  verify,
  type KeyPair,
} from './ed25519.js'
export { deriveGroupKey, generateGroupSecret, groupTag, type GroupKey, type GroupPublicKey } from './group.js'
export {
  CREDENTIAL_BYTES,
  decodeCredential,
  encodeCredential,
  issueCredential,
  verifyCredential,
  type Credential,
  type CredentialExpectations,
} from './credential.js'
export { defaultStoreDir, fileStore, memoryStore, type IdentityStore, type StoreLock } from './store.js'
export { ephemeralIdentity, loadOrCreateIdentity, openIdentity, rotateDeviceKey, type DeviceIdentity, type OpenIdentity } from './identity.js'
