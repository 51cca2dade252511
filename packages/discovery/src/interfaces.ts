/**
 * Which local interfaces mDNS runs on: a pure selection over
 * `os.networkInterfaces()` output, so it can be tested without a network.
 */
import type { NetworkInterfaceInfo } from 'node:os'

export interface LocalInterface {
  /** Interface name (`eth0`, `lo`). */
  name: string
  family: 4 | 6
  /** IPv4 address, or IPv6 link-local address without scope. */
  address: string
  /** IPv4 netmask (`255.255.255.0`); senders outside this subnet are not on our link. */
  netmask?: string
}

export interface InterfaceSelection {
  /** Interface names or addresses to use; all suitable ones when omitted. */
  interfaces?: string[]
  /** Only 127.0.0.1 (local tests and demos: nothing leaves the machine). */
  loopbackOnly?: boolean
  ipv4: boolean
  /** `auto`: IPv6 link-local only on interfaces without an IPv4 address. */
  ipv6: boolean | 'auto'
}

export const interfaceKey = (i: LocalInterface): string => `${i.family}|${i.name}|${i.address}`

/**
 * IPv4: the first IPv4 address of every selected interface. IPv6: its
 * link-local address (mDNS over IPv6 is link-local by design); with `auto`,
 * only on interfaces that have no IPv4 address, since running both families
 * doubles every packet. Loopback only when asked for (by `loopbackOnly` or by
 * naming it in `interfaces`).
 */
export function selectInterfaces(all: NodeJS.Dict<NetworkInterfaceInfo[]>, selection: InterfaceSelection): LocalInterface[] {
  if (selection.loopbackOnly === true) return [{ name: 'lo', family: 4, address: '127.0.0.1', netmask: '255.0.0.0' }]
  const wanted = selection.interfaces !== undefined ? new Set(selection.interfaces) : undefined
  const out: LocalInterface[] = []
  for (const [name, infos] of Object.entries(all)) {
    if (infos === undefined) continue
    const named = wanted?.has(name) === true
    const v4 = infos.find((i) => i.family === 'IPv4')
    if (selection.ipv4 && v4 !== undefined && (named || wanted?.has(v4.address) === true || (wanted === undefined && !v4.internal))) {
      out.push({ name, family: 4, address: v4.address, netmask: v4.netmask })
    }
    const v6 = infos.find((i) => i.family === 'IPv6' && i.address.toLowerCase().startsWith('fe80:'))
    const v6Wanted = selection.ipv6 === true || (selection.ipv6 === 'auto' && !(selection.ipv4 && v4 !== undefined))
    if (v6Wanted && v6 !== undefined && (named || wanted?.has(v6.address) === true || (wanted === undefined && !v6.internal))) {
      out.push({ name, family: 6, address: v6.address.split('%')[0]! })
    }
  }
  return out
}

const ipv4ToInt = (address: string): number | undefined => {
  const parts = address.split('.').map(Number)
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0
}

/**
 * Whether a datagram from `source` belongs to the link of `iface` (RFC 6762
 * §11 source address check). Linux delivers multicast for a group joined on
 * any interface to every socket bound to the port (IP_MULTICAST_ALL), so a
 * socket for `lo` also hears `eth0` once anything on the machine joined there:
 * without this check, `loopbackOnly` would report LAN peers and an `eth0`
 * socket would report loopback ones. IPv4: the source must be in the
 * interface's subnet (an interface without a usable netmask, or a /32,
 * accepts any source). IPv6: a scoped
 * link-local source must carry this interface's scope.
 */
export function onLink(iface: LocalInterface, source: string): boolean {
  if (iface.family === 6) {
    const scope = source.split('%')[1]
    return scope === undefined || scope === iface.name
  }
  const src = ipv4ToInt(source)
  if (src === undefined) return false
  const own = ipv4ToInt(iface.address)
  const mask = ipv4ToInt(iface.netmask ?? '')
  // no usable netmask, or a /32 (point-to-point): there is no subnet to check against
  if (own === undefined || mask === undefined || mask === 0xffffffff) return true
  return ((src & mask) >>> 0) === ((own & mask) >>> 0)
}
