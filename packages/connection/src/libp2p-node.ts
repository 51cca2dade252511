/**
 * The minimal libp2p node meshkit runs: the QUIC transport only (TLS 1.3 inside
 * QUIC proves both device keys; QUIC multiplexes streams), no discovery, no
 * services, no connection monitor (meshkit heartbeats on its control stream).
 * libp2p types stay inside this package.
 */
import './polyfill.js'
import { quic } from '@chainsafe/libp2p-quic'
import { privateKeyFromRaw } from '@libp2p/crypto/keys'
import type { Libp2p, PeerId } from '@libp2p/interface'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { isIP } from 'node:net'
import { createLibp2p } from 'libp2p'
import { InvalidArgumentError } from './errors.js'

export interface QuicNodeInit {
  secretKey: Uint8Array
  listen: HostPort[]
  idleTimeoutMs: number
  keepAliveMs: number
  maxConnections: number
}

/** A host and UDP port. IPv6 hosts without brackets; a zone (`fe80::1%eth0`) is allowed. */
export interface HostPort {
  host: string
  port: number
}

export async function createQuicNode(init: QuicNodeInit): Promise<Libp2p> {
  return createLibp2p({
    privateKey: privateKeyFromRaw(init.secretKey),
    addresses: { listen: init.listen.map((a) => toMultiaddr(a).toString()) },
    transports: [
      quic({
        maxIdleTimeout: init.idleTimeoutMs,
        keepAliveInterval: init.keepAliveMs,
        // QUIC's own per-stream window stays generous; meshkit's credit window
        // (per channel) is what bounds memory at the receiver.
        maxConcurrentStreamLimit: 1024,
      }),
    ],
    connectionMonitor: { enabled: false },
    connectionManager: {
      maxConnections: init.maxConnections,
      // libp2p's default (5 inbound connections per IP per second) closes
      // legitimate reconnects; meshkit limits unauthenticated connections itself.
      inboundConnectionThreshold: 10_000,
      maxIncomingPendingConnections: 1_000,
    },
    start: false,
  })
}

/** Parses `host:port`, `[v6]:port` or `v6-address` + port. */
export function parseHostPort(value: string): HostPort {
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(value)
  const plain = /^([^:]+):(\d+)$/.exec(value)
  const match = bracketed ?? plain
  if (match === null) throw new InvalidArgumentError(`"${value}" is not host:port (IPv6: [addr]:port)`)
  const port = Number(match[2])
  const host = match[1]!
  checkHostPort({ host, port })
  return { host, port }
}

export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}

/** Validates an address given as `host:port` or `{ host, port }`. */
export function normalizeHostPort(value: HostPort | string): HostPort {
  if (typeof value === 'string') return parseHostPort(value)
  if (value === null || typeof value !== 'object') throw new InvalidArgumentError(`${String(value)} is not an address`)
  checkHostPort(value)
  return { host: value.host, port: value.port }
}

function checkHostPort({ host, port }: HostPort): void {
  if (typeof host !== 'string') throw new InvalidArgumentError(`host ${String(host)} is not a string`)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError(`port ${port} is not 0-65535`)
  const [address] = host.split('%')
  if (isIP(address ?? '') === 0) throw new InvalidArgumentError(`"${host}" is not an IP address (meshkit dials addresses, not names)`)
}

/** The QUIC multiaddr of an address, with the expected peer id when known. */
export function toMultiaddr({ host, port }: HostPort, peer?: PeerId): Multiaddr {
  checkHostPort({ host, port })
  const [address, zone] = host.split('%')
  const ip = isIP(address ?? '') === 6 ? `${zone !== undefined ? `/ip6zone/${zone}` : ''}/ip6/${address}` : `/ip4/${address}`
  return multiaddr(`${ip}/udp/${port}/quic-v1${peer !== undefined ? `/p2p/${peer.toString()}` : ''}`)
}

/** The host and port of a QUIC multiaddr. */
export function fromMultiaddr(ma: Multiaddr): HostPort | undefined {
  let host: string | undefined
  let zone: string | undefined
  let port: number | undefined
  for (const c of ma.getComponents()) {
    if (c.name === 'ip4' || c.name === 'ip6') host = c.value
    else if (c.name === 'ip6zone') zone = c.value
    else if (c.name === 'udp') port = Number(c.value)
  }
  if (host === undefined || port === undefined) return undefined
  return { host: zone !== undefined ? `${host}%${zone}` : host, port }
}

/** The libp2p peer id of a device public key (Ed25519, 32 bytes). */
export function peerIdOf(publicKey: Uint8Array): PeerId {
  return peerIdFromPublicKey(publicKeyFromRaw(publicKey))
}

/** The raw Ed25519 public key a connection's remote proved, if it is Ed25519. */
export function publicKeyOf(peer: PeerId): Uint8Array | undefined {
  return peer.type === 'Ed25519' ? peer.publicKey.raw : undefined
}
