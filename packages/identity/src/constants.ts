/**
 * Defaults of @meshkit/identity. Each is a named, exported constant so apps and
 * tests can refer to it instead of repeating the value.
 */

/** Name of the file (inside the store's directory) that holds the device identity. */
export const IDENTITY_RECORD = 'identity'

/** Name of the lock file that keeps two processes from using one store at once. */
export const LOCK_FILE_NAME = 'lock'

/** Mode of every file the file store writes: readable and writable by the owner only. */
export const FILE_MODE = 0o600

/** Mode of directories the file store creates. */
export const DIR_MODE = 0o700

/** Version of the identity file format. */
export const IDENTITY_FORMAT_VERSION = 1

/** Version of the credential format (first byte of an encoded credential). */
export const CREDENTIAL_VERSION = 1

/**
 * Shortest group secret accepted, in bytes (UTF-8 for strings). A group secret is
 * the only thing standing between a stranger and your mesh; use
 * `generateGroupSecret()` (32 random bytes) rather than a word you can remember.
 */
export const MIN_GROUP_SECRET_BYTES = 16

/** Number of bytes of the group public key's hash shown as the group tag (hex: twice as many characters). */
export const GROUP_TAG_BYTES = 6

/** Domain separation for the group key derivation (SHA-512 of this || secret). */
export const GROUP_KEY_CONTEXT = 'meshkit/group-key/v1\0'

/** Domain separation prefix of the bytes a credential signature covers. */
export const CREDENTIAL_CONTEXT = 'meshkit/credential/v1\0'
