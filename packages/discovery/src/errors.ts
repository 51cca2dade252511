/** Errors of @meshkit/discovery, one class per condition, discriminated by `name`. */

/** The OS refused multicast on an interface (EACCES / EPERM): a firewall, a sandbox, missing permissions. */
export class MulticastDeniedError extends Error {
  override readonly name = 'MulticastDeniedError'
  /** The OS error code (`EACCES`, `EPERM`), from the cause. */
  readonly code: string
  constructor(
    /** The interface (address or name) that refused. */
    readonly iface: string,
    /** What was refused: binding the mDNS socket, joining the group, or sending. */
    readonly operation: 'bind' | 'join' | 'send',
    options?: ErrorOptions,
  ) {
    const code = (options?.cause as NodeJS.ErrnoException | undefined)?.code ?? 'denied'
    super(
      `multicast ${operation} on ${iface} was refused by the OS (${code}). mDNS cannot work on this interface: ` +
        'allow UDP 5353 to 224.0.0.251 / ff02::fb in the firewall (or the app sandbox), pick other interfaces, ' +
        'or use static peers (staticDiscovery) where multicast is blocked',
      options,
    )
    this.code = code
  }
}

/** The network is not reachable on an interface right now (route removed, link down, interface gone). Retried; recovers by itself. */
export class NetworkUnreachableError extends Error {
  override readonly name = 'NetworkUnreachableError'
  constructor(
    readonly iface: string,
    options?: ErrorOptions,
  ) {
    const code = (options?.cause as NodeJS.ErrnoException | undefined)?.code ?? 'unreachable'
    const why = options?.cause instanceof Error && (options.cause as NodeJS.ErrnoException).code === undefined ? options.cause.message : code
    super(`mDNS on ${iface} is cut off (${why}): the route or link is gone; meshkit keeps retrying and recovers when it returns`, options)
  }
}

/** No interface could be used at all. */
export class NoUsableInterfaceError extends Error {
  override readonly name = 'NoUsableInterfaceError'
  constructor(
    readonly tried: string[],
    options?: ErrorOptions,
  ) {
    super(
      tried.length === 0
        ? 'no network interface matches the discovery options: check `interfaces`, or use loopbackOnly for a local test'
        : `mDNS could not start on any interface (${tried.join(', ')}); see the cause, or use static peers`,
      options,
    )
  }
}

/** Options that cannot work. */
export class InvalidDiscoveryOptionsError extends Error {
  override readonly name = 'InvalidDiscoveryOptionsError'
}
