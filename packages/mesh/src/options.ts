/**
 * The options of `createMesh()`, validated into one resolved config with the
 * defaults applied. Bad options are an {@link InvalidMeshOptionsError} that
 * says which and why, before anything is opened.
 */
import type { ConnectionLayerInit } from '@meshkit/connection'
import type { Advertisement, Discovery, MdnsDiscoveryInit, StaticPeer } from '@meshkit/discovery'
import type { ElectionInit } from '@meshkit/election'
import { defaultStoreDir, fileStore, memoryStore, type IdentityStore } from '@meshkit/identity'
import type { ComponentLogger } from '@meshkit/log'
import {
  DEFAULT_APP,
  DEFAULT_BACKLOG_MESSAGES,
  DEFAULT_OUTBOX_BYTES,
  DEFAULT_OUTBOX_MAX_AGE_MS,
  DEFAULT_OUTBOX_MESSAGES,
  DEFAULT_STOP_TIMEOUT_MS,
} from './constants.js'
import { InvalidMeshOptionsError } from './errors.js'

/** How a channel behaves. */
export interface ChannelOptions {
  /** Keep messages until acknowledged, retransmit after reconnects, deliver exactly once. Default false. */
  reliable?: boolean
  /**
   * What `broadcast()` does about a peer that is not reading (its window is
   * full): `wait` (default) waits for it, so the slowest peer paces the
   * broadcast; `skip` does not wait and reports the peer as skipped (the
   * message is not sent to it; on a reliable channel it is queued instead).
   */
  broadcast?: 'wait' | 'skip'
}

export type DiscoveryOption =
  /** mDNS/DNS-SD (default). */
  | 'mdns'
  /** No discovery: only `peers` (static) and `addPeer()`. */
  | 'none'
  /** Any implementation of the Discovery contract (e.g. memoryDiscovery for tests). */
  | Discovery
  /** A factory, called once the QUIC port is known. */
  | ((advertisement: Advertisement) => Discovery)

export interface MeshOptions {
  /** App name: devices mesh with devices of the same app (service type `_<app>._udp`). Default `meshkit`. */
  app?: string
  /** The group: a shared secret (see generateGroupSecret()). Required. */
  group: { secret: string | Uint8Array }
  /**
   * Where the device identity and election term live: a directory (default:
   * the OS config dir for the app), an IdentityStore, or `memory` (a new
   * identity every start: tests and demos).
   */
  storage?: string | IdentityStore | 'memory'
  discovery?: DiscoveryOption
  /** Peers to connect to without discovery (`host:port`, or with id and key). */
  peers?: StaticPeer[]
  /** Only loopback: listen on 127.0.0.1 and confine mDNS to it. Nothing leaves the machine. */
  loopbackOnly?: boolean
  /** Network interfaces for mDNS (names or addresses). Default all. */
  interfaces?: string[]
  /** QUIC listen addresses, `host:port`. Default `0.0.0.0:0` (127.0.0.1:0 with loopbackOnly). */
  listen?: string[]
  /** Named channels and how they behave; undeclared channels are plain (unreliable, wait). */
  channels?: Record<string, ChannelOptions>
  /** Leader election settings (priority, mode, manualOnly, timings). */
  election?: ElectionInit
  /** Largest message, bytes. Default 1 MiB. */
  maxMessageBytes?: number
  /** Messages kept for a channel nobody subscribed to yet. Default 10,000. */
  backlogMessages?: number
  /** Reliable channels, per peer: bounds of the outbox. */
  outbox?: { maxMessages?: number; maxBytes?: number; maxAgeMs?: number }
  /** `stop()` bound. Default 2 s. */
  stopTimeoutMs?: number
  /** Connection-layer settings passed through (idle timeout, windows, ...), for tuning and tests. */
  connection?: Partial<Pick<ConnectionLayerInit, 'idleTimeoutMs' | 'keepAliveMs' | 'dialGraceMs' | 'windowBytes' | 'heartbeatIntervalMs' | 'heartbeatTimeoutMs' | 'reconnectMinMs' | 'reconnectMaxMs'>>
  /** mDNS settings passed through (e.g. `mdnsPort` to isolate tests). */
  mdns?: Partial<Pick<MdnsDiscoveryInit, 'mdnsPort' | 'ipv4' | 'ipv6' | 'recordTtlS' | 'serviceType'>>
  logger?: ComponentLogger
}

export interface ResolvedOptions {
  app: string
  secret: string | Uint8Array
  store: IdentityStore
  discovery: DiscoveryOption
  peers: StaticPeer[]
  loopbackOnly: boolean
  interfaces: string[] | undefined
  listen: string[]
  channels: Map<string, Required<ChannelOptions>>
  election: ElectionInit
  maxMessageBytes: number | undefined
  backlogMessages: number
  outbox: { maxMessages: number; maxBytes: number; maxAgeMs: number }
  stopTimeoutMs: number
  connection: NonNullable<MeshOptions['connection']>
  mdns: NonNullable<MeshOptions['mdns']>
}

const positive = (name: string, value: number | undefined, fallback: number): number => {
  const v = value ?? fallback
  if (!Number.isFinite(v) || v <= 0) throw new InvalidMeshOptionsError(`${name} must be a positive number, got ${String(value)}`)
  return v
}

export function resolveOptions(options: MeshOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') throw new InvalidMeshOptionsError('createMesh() needs an options object with at least { group: { secret } }')
  const app = options.app ?? DEFAULT_APP
  if (typeof app !== 'string' || !/^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/i.test(app)) {
    throw new InvalidMeshOptionsError(`app "${String(app)}" must be 1-15 letters, digits or dashes (it becomes the service type _${String(app)}._udp)`)
  }
  const secret = options.group?.secret
  if (secret === undefined || (typeof secret !== 'string' && !(secret instanceof Uint8Array))) {
    throw new InvalidMeshOptionsError('group.secret is required: the same secret on every device of the mesh (generateGroupSecret() makes one)')
  }
  const storage = options.storage ?? defaultStoreDir(app)
  const store = storage === 'memory' ? memoryStore() : typeof storage === 'string' ? fileStore(storage) : storage
  if (typeof store?.read !== 'function' || typeof store.write !== 'function' || typeof store.lock !== 'function') {
    throw new InvalidMeshOptionsError('storage must be a directory path, "memory", or an IdentityStore (read, write, lock)')
  }
  const loopbackOnly = options.loopbackOnly === true
  const channels = new Map<string, Required<ChannelOptions>>()
  for (const [name, ch] of Object.entries(options.channels ?? {})) {
    if (ch.broadcast !== undefined && ch.broadcast !== 'wait' && ch.broadcast !== 'skip') throw new InvalidMeshOptionsError(`channels.${name}.broadcast must be 'wait' or 'skip'`)
    channels.set(name, { reliable: ch.reliable === true, broadcast: ch.broadcast ?? 'wait' })
  }
  const discovery = options.discovery ?? 'mdns'
  if (discovery !== 'mdns' && discovery !== 'none' && typeof discovery !== 'function' && (typeof discovery !== 'object' || typeof discovery.start !== 'function')) {
    throw new InvalidMeshOptionsError("discovery must be 'mdns', 'none', a Discovery, or a function that makes one")
  }
  return {
    app,
    secret,
    store,
    discovery,
    peers: options.peers ?? [],
    loopbackOnly,
    interfaces: options.interfaces,
    listen: options.listen ?? [loopbackOnly ? '127.0.0.1:0' : '0.0.0.0:0'],
    channels,
    election: options.election ?? {},
    maxMessageBytes: options.maxMessageBytes,
    backlogMessages: positive('backlogMessages', options.backlogMessages, DEFAULT_BACKLOG_MESSAGES),
    outbox: {
      maxMessages: positive('outbox.maxMessages', options.outbox?.maxMessages, DEFAULT_OUTBOX_MESSAGES),
      maxBytes: positive('outbox.maxBytes', options.outbox?.maxBytes, DEFAULT_OUTBOX_BYTES),
      maxAgeMs: positive('outbox.maxAgeMs', options.outbox?.maxAgeMs, DEFAULT_OUTBOX_MAX_AGE_MS),
    },
    stopTimeoutMs: positive('stopTimeoutMs', options.stopTimeoutMs, DEFAULT_STOP_TIMEOUT_MS),
    connection: options.connection ?? {},
    mdns: options.mdns ?? {},
  }
}
