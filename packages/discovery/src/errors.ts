/** Errors of @meshkit/discovery, one class per condition, discriminated by `name`. */

/** The OS refused multicast on an interface (EACCES / EPERM): a firewall, a sandbox, missing permissions. */
export class MulticastDeniedError extends Error {
  override readonly name = 'MulticastDeniedError'
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
  }
}

/** Sending failed because the network is not reachable right now (route removed, link down). Retried. */
export class NetworkUnreachableError extends Error {
  override readonly name = 'NetworkUnreachableError'
  constructor(
    readonly iface: string,
    options?: ErrorOptions,
  ) {
    const code = (options?.cause as NodeJS.ErrnoException | undefined)?.code ?? 'unreachable'
    super(`cannot send mDNS on ${iface} (${code}): the route or link is gone; meshkit keeps retrying and recovers when it returns`, options)
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
