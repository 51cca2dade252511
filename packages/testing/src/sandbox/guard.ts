/**
 * The one safety rule of these machines: never multicast from the root network
 * namespace (its eth0 faces a real network), unless confined to loopback.
 */
import { readdirSync, statSync } from 'node:fs'

export class RootNamespaceError extends Error {
  override readonly name = 'RootNamespaceError'
  constructor() {
    super(
      'refusing to run mDNS on real interfaces from the root network namespace: its interfaces face a real network, ' +
        'and test traffic must stay on this machine. Run inside a sandbox LAN (createSandboxLan) or confine discovery ' +
        'to loopback (loopbackOnly: true)',
    )
  }
}

/**
 * Whether this process may be in the machine's root network namespace: true
 * unless its namespace is one of the named ones (`ip netns add`, which the
 * sandbox uses). Comparing with PID 1's namespace does not work: inside
 * `ip netns exec`, /proc/1/ns/net reads as the process's own namespace.
 */
export function inRootNetworkNamespace(): boolean {
  try {
    const own = statSync('/proc/self/ns/net').ino
    return !readdirSync('/run/netns').some((name) => {
      try {
        return statSync(`/run/netns/${name}`).ino === own
      } catch {
        return false
      }
    })
  } catch {
    // not Linux, or no named namespaces at all: assume the worst
    return true
  }
}

/** Throws {@link RootNamespaceError} unless mDNS is confined to loopback or runs outside the root namespace. */
export function assertMulticastAllowed(options: { loopbackOnly?: boolean }): void {
  if (options.loopbackOnly === true) return
  if (inRootNetworkNamespace()) throw new RootNamespaceError()
}
