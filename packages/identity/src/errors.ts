/**
 * One error class per condition, discriminated by `name`. Messages say what
 * happened and what to do.
 */

/** The identity record exists but cannot be parsed or fails validation. Never replaced silently. */
export class IdentityCorruptError extends Error {
  override readonly name = 'IdentityCorruptError'
  constructor(
    readonly location: string,
    readonly detail: string,
    options?: ErrorOptions,
  ) {
    super(
      `the device identity at ${location} is corrupt (${detail}). meshkit will not invent a new identity over it: ` +
        'restore it from a backup, or delete the file to give this device a new id on purpose',
      options,
    )
  }
}

/** The identity record or its directory cannot be read or written (permissions, disk, ...). */
export class IdentityStorageError extends Error {
  override readonly name = 'IdentityStorageError'
  constructor(
    readonly location: string,
    readonly operation: 'read' | 'write' | 'lock',
    options?: ErrorOptions,
  ) {
    const code = (options?.cause as NodeJS.ErrnoException | undefined)?.code
    super(
      `cannot ${operation} the identity store at ${location}${code !== undefined ? ` (${code})` : ''}: ` +
        'check that the directory exists and belongs to the user running the app, or pass another `dir`',
      options,
    )
  }
}

/** Another process (or another mesh in this process) is using the same identity store. */
export class IdentityLockedError extends Error {
  override readonly name = 'IdentityLockedError'
  constructor(
    readonly location: string,
    readonly holderPid: number,
    options?: ErrorOptions,
  ) {
    super(
      `the identity store at ${location} is in use by process ${holderPid}${holderPid === process.pid ? ' (this process)' : ''}: ` +
        'two running instances must not share one device identity. Stop the other instance or give this one its own store directory',
      options,
    )
  }
}

/** The group secret is missing, too short or of the wrong type. */
export class InvalidGroupSecretError extends Error {
  override readonly name = 'InvalidGroupSecretError'
  constructor(detail: string) {
    super(`invalid group secret: ${detail}. Generate one with generateGroupSecret() and share it between your devices`)
  }
}

/** Why a credential was rejected. */
export type CredentialRejection =
  | 'malformed'
  | 'unsupported-version'
  | 'bad-signature'
  | 'wrong-uuid'
  | 'wrong-key'

/** A credential failed verification: it does not prove membership of this group for this device. */
export class CredentialRejectedError extends Error {
  override readonly name = 'CredentialRejectedError'
  constructor(
    readonly reason: CredentialRejection,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`credential rejected (${reason}): ${detail}`, options)
  }
}

/** A value that should be a device id is not a UUID. */
export class InvalidDeviceIdError extends Error {
  override readonly name = 'InvalidDeviceIdError'
  constructor(readonly value: string) {
    super(`"${value}" is not a device id: device ids are lowercase RFC 4122 UUIDs (e.g. from crypto.randomUUID())`)
  }
}
