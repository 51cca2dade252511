/**
 * mDNS / DNS-SD discovery on multicast-dns (RFC 6762 / 6763), built for a LAN
 * of devices that come and go:
 *
 * - no name probing (instance names are UUIDs): announce at once, query at once;
 * - our own record TTLs (8 s), re-announced every ~2 s and refreshed by direct
 *   queries at 50% / 75% of a peer's TTL, so a crashed peer expires in < 10 s;
 * - goodbyes (TTL 0) on stop, seen by peers within milliseconds;
 * - periodic jittered queries with known-answer suppression for late joiners
 *   and lossy links;
 * - one socket per interface and family, watched for address and link changes;
 * - every socket error becomes a typed event, never a crash.
 *
 * bonjour-service (on the same multicast-dns) was measured not to meet these
 * needs (0.9 s probing, ghosts that never expire, crashes on socket errors,
 * corrupted binary TXT, no TXT update, one query at start): see README.
 */
import { defaultLogger, type ComponentLogger, type Logger } from '@meshkit/log'
import type { Packet } from 'dns-packet'
import { EventEmitter } from 'eventemitter3'
import dnsPacket from 'dns-packet'
import makeMdns from 'multicast-dns'
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram'
import { networkInterfaces } from 'node:os'
import type { Observable } from 'rxjs'
import {
  ANNOUNCE_INTERVAL_MS,
  CACHE_FLUSH_GRACE_MS,
  DEFAULT_SERVICE_TYPE,
  GOODBYE_REPEATS,
  GOODBYE_SPACING_MS,
  INTERFACE_POLL_MS,
  MDNS_IPV4,
  MDNS_IPV6,
  MDNS_PORT,
  MAX_QUERY_BYTES,
  QUERY_INTERVAL_MS,
  RECEIVE_BUFFER_BYTES,
  RECORD_TTL_S,
  REFRESH_AT,
  RESPONSE_JITTER_MS,
  STARTUP_ANNOUNCE_MS,
  STARTUP_QUERY_MS,
} from './constants.js'
import type { Advertisement, DiscoveredPeer, Discovery, DiscoveryEvents, PeerAddress, StartOptions } from './contract.js'
import { InvalidDiscoveryOptionsError, MulticastDeniedError, NetworkUnreachableError, NoUsableInterfaceError } from './errors.js'
import { interfaceKey, onLink, selectInterfaces, type LocalInterface } from './interfaces.js'
import { PeerTable } from './peer-table.js'
import { advertisedFields, advertisementPacket, browseQuery, instanceDomain, isServiceType, parseResponse, serviceDomain } from './records.js'

export interface MdnsDiscoveryInit {
  /** What this device advertises. */
  advertisement: Advertisement
  /** App name: the service type becomes `_<app>._udp`. Ignored when `serviceType` is given. */
  app?: string
  /** Full DNS-SD service type. Default `_meshkit._udp`. */
  serviceType?: string
  /** Interface names or addresses to run on. Default: every non-loopback interface. */
  interfaces?: string[]
  /** Only loopback (127.0.0.1): for tests and demos on one machine; nothing leaves it. */
  loopbackOnly?: boolean
  /** Default true. */
  ipv4?: boolean
  /**
   * IPv6 link-local: `true` on every interface, `false` never, `auto` (default)
   * only on interfaces without IPv4. Both families on one LAN double the mDNS
   * traffic and its CPU: with 30 devices starting together on 2 cores, pairs
   * took 737 ms to find each other with both, 332 ms with IPv4 alone.
   */
  ipv6?: boolean | 'auto'
  /** UDP port of mDNS. Default 5353; tests may isolate themselves on another. */
  mdnsPort?: number
  recordTtlS?: number
  announceIntervalMs?: number
  queryIntervalMs?: number
  interfacePollMs?: number
}

export interface MdnsDiscoveryComponents {
  logger?: ComponentLogger
  /** For tests: the interface table (default `os.networkInterfaces`). */
  networkInterfaces?: typeof networkInterfaces
}

type Mdns = ReturnType<typeof makeMdns>

const DENIED = new Set(['EACCES', 'EPERM'])
const UNREACHABLE = new Set(['ENETUNREACH', 'EHOSTUNREACH', 'EADDRNOTAVAIL', 'ENETDOWN', 'ENODEV', 'EINVAL'])

const jitter = (ms: number): number => ms * (0.8 + Math.random() * 0.4)

/**
 * When many devices start together, a burst of announcements, queries and
 * answers arrives while the process is busy; the default receive buffer
 * (~208 KiB of kernel memory, ~50-100 small datagrams) overflowed with 30
 * devices and cost a retry round. The OS caps the request at its limit
 * (net.core.rmem_max), so asking never fails where the limit is lower.
 */
function enlargeReceiveBuffer(socket: Socket): void {
  try {
    if (socket.getRecvBufferSize() < RECEIVE_BUFFER_BYTES) socket.setRecvBufferSize(RECEIVE_BUFFER_BYTES)
  } catch {
    // not supported here: keep the default
  }
}

/** One multicast-dns socket on one interface and family. */
class Endpoint {
  readonly key: string
  mdns: Mdns | undefined
  /**
   * A socket on an ephemeral port for one-shot queries (RFC 6762 §6.7): the
   * answers come back by unicast to it alone, instead of every answer to every
   * newcomer being multicast to the whole LAN (N^2 packets when N devices
   * start together).
   */
  private oneShot: Socket | undefined
  private failing: 'denied' | 'unreachable' | undefined

  constructor(
    readonly iface: LocalInterface,
    private readonly owner: MdnsDiscovery,
  ) {
    this.key = interfaceKey(iface)
  }

  get label(): string {
    return `${this.iface.name} (${this.iface.address})`
  }

  private readonly sources = new Map<string, boolean>()

  /**
   * RFC 6762 §11: only datagrams from this interface's link count (see
   * {@link onLink}). Remembered per source: the same few peers send all the time.
   */
  onLink(source: string): boolean {
    let ok = this.sources.get(source)
    if (ok === undefined) {
      ok = onLink(this.iface, source)
      if (!ok) this.owner.debug('ignoring packets from %s on %s: not on that link', source, this.label)
      if (this.sources.size >= 1024) this.sources.clear()
      this.sources.set(source, ok)
    }
    return ok
  }

  async open(port: number): Promise<void> {
    const v6 = this.iface.family === 6
    // our own socket (multicast-dns binds it), so its receive buffer can be enlarged once bound
    const socket = createSocket({ type: v6 ? 'udp6' : 'udp4', reuseAddr: true })
    const mdns = makeMdns(
      v6
        ? { type: 'udp6', ip: MDNS_IPV6, port, interface: `::%${this.iface.name}`, reuseAddr: true, loopback: true, socket }
        : { type: 'udp4', ip: MDNS_IPV4, port, interface: this.iface.address, bind: '0.0.0.0', reuseAddr: true, loopback: true, socket },
    )
    this.mdns = mdns
    // one error listener for the socket's whole life: multicast-dns emits a failed bind twice
    // (from the socket and from its bind callback), and an 'error' without a listener would crash the process
    let phase: 'opening' | 'failed' | 'open' = 'opening'
    let failOpen: (err: Error) => void = () => {}
    mdns.on('error', (err: NodeJS.ErrnoException) => {
      if (phase === 'opening') failOpen(DENIED.has(err.code ?? '') ? new MulticastDeniedError(this.label, 'bind', { cause: err }) : err)
      else if (phase === 'open') this.owner.socketError(this, 'bind', err)
    })
    try {
      await new Promise<void>((resolve, reject) => {
        failOpen = reject
        mdns.once('ready', () => resolve())
      })
    } catch (err) {
      phase = 'failed'
      throw err
    }
    phase = 'open'
    enlargeReceiveBuffer(socket)
    mdns.on('warning', (err: NodeJS.ErrnoException) => {
      if (DENIED.has(err.code ?? '')) this.owner.socketError(this, 'join', err)
      else this.owner.debug('warning on %s: %s', this.label, err.message)
    })
    mdns.on('response', (packet: Packet, rinfo: RemoteInfo) => this.owner.onResponse(packet, rinfo, this))
    mdns.on('query', (packet: Packet, rinfo: RemoteInfo) => this.owner.onQuery(packet, rinfo, this))
    await this.openOneShot(port)
  }

  private async openOneShot(port: number): Promise<void> {
    const v6 = this.iface.family === 6
    const socket = createSocket({ type: v6 ? 'udp6' : 'udp4' })
    socket.on('error', (err) => this.owner.debug('one-shot socket on %s: %s', this.label, err.message))
    socket.on('message', (bytes, rinfo) => {
      let packet: Packet
      try {
        packet = dnsPacket.decode(bytes)
      } catch (err) {
        this.owner.debug('malformed unicast answer on %s: %s', this.label, (err as Error).message)
        return
      }
      if (packet.type === 'response') this.owner.onResponse(packet, rinfo, this)
    })
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject)
        socket.bind(0, v6 ? '::' : this.iface.address, () => {
          socket.removeListener('error', reject)
          resolve()
        })
      })
      socket.setMulticastInterface(v6 ? `::%${this.iface.name}` : this.iface.address)
      socket.setMulticastLoopback(true)
      enlargeReceiveBuffer(socket)
      this.oneShot = socket
      this.oneShotTarget = { port, address: v6 ? `${MDNS_IPV6}%${this.iface.name}` : MDNS_IPV4 }
    } catch (err) {
      // not fatal: queries then go out on the mDNS socket and answers come by multicast
      this.owner.debug('no one-shot socket on %s: %s', this.label, (err as Error).message)
      socket.close()
    }
  }

  private oneShotTarget: { port: number; address: string } | undefined

  /** A query whose answers come back by unicast to this endpoint only (falls back to a multicast query). */
  queryOneShot(packet: makeMdns.QueryOutgoingPacket): void {
    const socket = this.oneShot
    const target = this.oneShotTarget
    if (socket === undefined || target === undefined) {
      this.query(packet)
      return
    }
    const bytes = dnsPacket.encode({ ...packet, id: Math.floor(Math.random() * 65536) })
    socket.send(bytes, target.port, target.address, (err) => this.sent(err))
  }

  respond(packet: makeMdns.ResponseOutgoingPacket): void {
    this.mdns?.respond(packet, (err: Error | null) => this.sent(err))
  }

  query(packet: makeMdns.QueryOutgoingPacket): void {
    this.mdns?.query(packet, (err: Error | null) => this.sent(err))
  }

  sent(err: Error | null | undefined): void {
    if (err === null || err === undefined) {
      if (this.failing !== undefined) {
        this.failing = undefined
        this.owner.recovered(this)
      }
      return
    }
    const code = (err as NodeJS.ErrnoException).code ?? ''
    const kind = DENIED.has(code) ? 'denied' : UNREACHABLE.has(code) ? 'unreachable' : undefined
    if (kind === undefined) {
      this.owner.debug('send on %s failed: %s', this.label, err.message)
      return
    }
    if (this.failing === kind) return // reported once until it recovers
    this.failing = kind
    this.owner.sendFailed(this, kind === 'denied' ? new MulticastDeniedError(this.label, 'send', { cause: err }) : new NetworkUnreachableError(this.label, { cause: err }))
  }

  async close(): Promise<void> {
    const oneShot = this.oneShot
    this.oneShot = undefined
    const mdns = this.mdns
    this.mdns = undefined
    if (oneShot === undefined && mdns === undefined) return
    await Promise.all([
      oneShot !== undefined ? new Promise<void>((resolve) => oneShot.close(() => resolve())) : undefined,
      mdns !== undefined ? new Promise<void>((resolve) => mdns.destroy(() => resolve())) : undefined,
    ])
    // node calls back before libuv has released the handle (that happens in the loop's close
    // phase): resolve only once it is gone, so nothing of ours is alive when stop() resolves
    for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setImmediate(resolve))
  }
}

interface KnownPeer {
  id: string
  publicKey: Uint8Array
  /** The key as advertised (base64): compared, never re-decoded. */
  key: string
  version: number
  groupTag: string
  port: number
  /** address key -> address, when it was last announced and when it expires */
  addresses: Map<string, { address: PeerAddress; receivedAt: number; expiresAt: number }>
  ttlMs: number
  expiresAt: number
  lastSeen: number
  /** How many refresh queries were sent in the current TTL window. */
  refreshes: number
}

export class MdnsDiscovery extends EventEmitter<DiscoveryEvents> implements Discovery {
  private ad: Advertisement
  /** Our public key in base64, as advertised. */
  private ownKey: string
  private readonly type: string
  private readonly log: Logger
  private readonly table: PeerTable
  private readonly endpoints = new Map<string, Endpoint>()
  private readonly known = new Map<string, KnownPeer>()
  private readonly conflictsReported = new Set<string>()
  private readonly pendingAsks = new Set<string>()
  private readonly timers = new Set<ReturnType<typeof setTimeout>>()
  private state: 'idle' | 'starting' | 'running' | 'stopped' = 'idle'
  private starting: Promise<void> | undefined
  private stopping: Promise<void> | undefined
  private readonly cfg

  constructor(
    init: MdnsDiscoveryInit,
    private readonly components: MdnsDiscoveryComponents = {},
  ) {
    super()
    this.ad = { ...init.advertisement }
    this.ownKey = Buffer.from(this.ad.publicKey).toString('base64')
    this.type = init.serviceType ?? (init.app !== undefined ? `_${init.app}._udp` : DEFAULT_SERVICE_TYPE)
    if (!isServiceType(this.type)) {
      throw new InvalidDiscoveryOptionsError(`"${this.type}" is not a DNS-SD service type: use _name._udp with 1-15 letters, digits or dashes (app names likewise)`)
    }
    const loopbackOnly = init.loopbackOnly === true
    this.cfg = {
      loopbackOnly,
      interfaces: init.interfaces,
      ipv4: init.ipv4 ?? true,
      ipv6: loopbackOnly ? false : (init.ipv6 ?? 'auto'),
      port: init.mdnsPort ?? MDNS_PORT,
      ttlS: init.recordTtlS ?? RECORD_TTL_S,
      announceMs: init.announceIntervalMs ?? ANNOUNCE_INTERVAL_MS,
      queryMs: init.queryIntervalMs ?? QUERY_INTERVAL_MS,
      pollMs: init.interfacePollMs ?? INTERFACE_POLL_MS,
    }
    this.log = (components.logger ?? defaultLogger()).forComponent('meshkit:discovery:mdns')
    this.table = new PeerTable(this, this.log)
  }

  get peers$(): Observable<ReadonlyMap<string, DiscoveredPeer>> {
    return this.table.subject.asObservable()
  }

  /** The DNS-SD service type in use. */
  get serviceType(): string {
    return this.type
  }

  peers(): DiscoveredPeer[] {
    return this.table.all()
  }

  debug(formatter: string, ...args: unknown[]): void {
    this.log(formatter, ...args)
  }

  // ---- lifecycle ------------------------------------------------------------

  async start(options: StartOptions = {}): Promise<void> {
    if (this.state === 'stopped') throw new InvalidDiscoveryOptionsError('this discovery was stopped; create a new one')
    this.starting ??= this.doStart(options.signal)
    return this.starting
  }

  private async doStart(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted()
    this.state = 'starting'
    try {
      await this.open()
    } catch (err) {
      this.state = 'stopped'
      throw err
    }
    if (signal?.aborted === true) {
      // aborted while the sockets opened: leave nothing behind
      await this.doStop(false)
      signal.throwIfAborted()
    }
    this.state = 'running'
    this.table.active = true
    // no probing: UUID instance names do not collide. Announce and ask at once.
    this.announceAll()
    this.queryAll(true)
    for (const ms of STARTUP_ANNOUNCE_MS) this.after(ms, () => this.announceAll())
    for (const ms of STARTUP_QUERY_MS) this.after(ms, () => this.queryAll(true))
    this.every(this.cfg.announceMs, () => this.announceAll())
    this.every(this.cfg.queryMs, () => this.queryAll())
    this.every(250, () => this.maintain())
    this.every(this.cfg.pollMs, () => void this.watchInterfaces())
  }

  /** Opens a socket on every selected interface; reports the ones that failed, throws if none opened. */
  private async open(): Promise<void> {
    const selected = this.selectInterfaces()
    const failures: Error[] = []
    await Promise.all(
      selected.map(async (iface) => {
        try {
          await this.openEndpoint(iface)
        } catch (err) {
          failures.push(err as Error)
        }
      }),
    )
    if (this.endpoints.size === 0) {
      throw new NoUsableInterfaceError(
        selected.map((i) => `${i.name} (${i.address})`),
        failures.length > 0 ? { cause: failures.length === 1 ? failures[0] : new AggregateError(failures) } : undefined,
      )
    }
    for (const f of failures) this.report(f)
  }

  async stop(): Promise<void> {
    if (this.state === 'idle') {
      this.state = 'stopped'
      this.table.close()
      return
    }
    this.stopping ??= this.starting !== undefined ? this.starting.then(() => this.doStop(true), () => this.doStop(false)) : this.doStop(false)
    return this.stopping
  }

  /** Goodbyes (when we announced), then every socket and timer released. */
  private async doStop(goodbye: boolean): Promise<void> {
    this.state = 'stopped'
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    // goodbye: the same records with TTL 0, a few times (loss), then close once they are sent
    for (let i = 0; goodbye && i < GOODBYE_REPEATS; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, GOODBYE_SPACING_MS))
      await Promise.all(
        [...this.endpoints.values()].map(
          (ep) =>
            new Promise<void>((resolve) => {
              if (ep.mdns === undefined) return resolve()
              ep.mdns.respond(this.packetFor(ep, 0), () => resolve())
            }),
        ),
      )
    }
    await Promise.all([...this.endpoints.values()].map((ep) => ep.close()))
    this.endpoints.clear()
    this.known.clear()
    this.table.close()
    this.removeAllListeners()
  }

  async update(advertisement: Partial<Advertisement>): Promise<void> {
    this.ad = { ...this.ad, ...advertisement, id: this.ad.id }
    this.ownKey = Buffer.from(this.ad.publicKey).toString('base64')
    if (this.state === 'running') this.announceAll()
  }

  /** Runs `fn` once after `ms` (exactly, or jittered by ±20%) unless stopped first. */
  private after(ms: number, fn: () => void, exact = false): void {
    const t = setTimeout(
      () => {
        this.timers.delete(t)
        if (this.state === 'running') fn()
      },
      exact ? ms : jitter(ms),
    )
    this.timers.add(t)
  }

  /** Runs `fn` every `ms`, jittered by ±20%, until stopped. */
  private every(ms: number, fn: () => void): void {
    const tick = (): void => {
      fn()
      this.after(ms, tick)
    }
    this.after(ms, tick)
  }

  // ---- interfaces -------------------------------------------------------------

  private selectInterfaces(): LocalInterface[] {
    const table = (this.components.networkInterfaces ?? networkInterfaces)()
    return selectInterfaces(table, this.cfg)
  }

  private async openEndpoint(iface: LocalInterface): Promise<Endpoint> {
    const ep = new Endpoint(iface, this)
    try {
      await ep.open(this.cfg.port)
      if (this.state === 'stopped') throw new Error(`stopped while opening ${ep.label}`)
    } catch (err) {
      await ep.close()
      throw err
    }
    this.endpoints.set(ep.key, ep)
    this.log('mDNS on %s, service %s', ep.label, this.type)
    return ep
  }

  /** New, removed or readdressed interfaces: open and close sockets, announce on the new ones. */
  private watching: Promise<void> | undefined

  /** Re-checks the interfaces now (once at a time: concurrent callers share the check in progress). */
  private async watchInterfaces(): Promise<void> {
    this.watching ??= this.rewatch().finally(() => (this.watching = undefined))
    return this.watching
  }

  private async rewatch(): Promise<void> {
    if (this.state !== 'running') return
    const wanted = new Map(this.selectInterfaces().map((i) => [interfaceKey(i), i]))
    for (const [key, ep] of this.endpoints) {
      if (wanted.has(key)) continue
      this.endpoints.delete(key)
      await ep.close()
      const readdressed = [...wanted.values()].some((i) => i.name === ep.iface.name && i.family === ep.iface.family)
      if (readdressed) this.log('%s has a new address', ep.label)
      else this.report(new NetworkUnreachableError(ep.label, { cause: new Error('the interface is down or gone') }))
    }
    for (const [key, iface] of wanted) {
      if (this.endpoints.has(key) || this.state !== 'running') continue
      try {
        const ep = await this.openEndpoint(iface)
        this.announce(ep)
        this.query(ep)
      } catch (err) {
        this.report(err as Error)
      }
    }
  }

  /**
   * Sending failed: first look at the interfaces again (a changed address
   * fails sends on the old one: that is a readdress, handled by replacing the
   * socket, not an error; an interface that went down is reported by the
   * re-check); report the failure if this socket is still in use.
   */
  sendFailed(ep: Endpoint, error: Error): void {
    void this.watchInterfaces().then(() => {
      // still in use: a real failure. Otherwise the re-check replaced it (new address) or reported it gone.
      if (this.endpoints.get(ep.key) === ep) this.report(error)
    })
  }

  socketError(ep: Endpoint, operation: 'bind' | 'join', err: NodeJS.ErrnoException): void {
    this.report(DENIED.has(err.code ?? '') ? new MulticastDeniedError(ep.label, operation, { cause: err }) : err)
  }

  report(error: Error): void {
    this.log.error('%s', error.message)
    if (this.state === 'stopped') return
    try {
      this.emit('error', error)
    } catch (err) {
      this.log.error('an error listener threw: %s', (err as Error).message)
    }
  }

  /** Sends work again on an endpoint: say who we are and ask who is there. */
  recovered(ep: Endpoint): void {
    this.log('%s works again', ep.label)
    this.announce(ep)
    this.query(ep)
  }

  // ---- sending ----------------------------------------------------------------

  private packetFor(ep: Endpoint, ttl: number): makeMdns.ResponseOutgoingPacket {
    const v4 = ep.iface.family === 4 ? [ep.iface.address] : []
    const v6 = ep.iface.family === 6 ? [ep.iface.address] : []
    return advertisementPacket(this.ad, this.type, { v4, v6 }, ttl)
  }

  private announce(ep: Endpoint): void {
    ep.respond(this.packetFor(ep, this.cfg.ttlS))
  }

  private announceAll(): void {
    for (const ep of this.endpoints.values()) this.announce(ep)
  }

  /**
   * Browse query, listing the peers we know with more than half their TTL left
   * (known-answer suppression). `oneShot`: answers come back by unicast.
   */
  private query(ep: Endpoint, oneShot = false): void {
    const now = Date.now()
    const known: Array<{ id: string; ttl: number }> = []
    for (const p of this.known.values()) {
      const remaining = Math.floor((p.expiresAt - now) / 1000)
      if (remaining * 1000 > p.ttlMs / 2) known.push({ id: p.id, ttl: remaining })
    }
    const packet: makeMdns.QueryOutgoingPacket = browseQuery(this.type, known, MAX_QUERY_BYTES)
    if (oneShot) ep.queryOneShot(packet)
    else ep.query(packet)
  }

  private queryAll(oneShot = false): void {
    for (const ep of this.endpoints.values()) this.query(ep, oneShot)
  }

  /** Asks for one instance directly (refresh, or records missing from an announcement). */
  private ask(id: string): void {
    const instance = instanceDomain(id, this.type)
    for (const ep of this.endpoints.values()) {
      ep.query({ type: 'query', questions: [{ name: instance, type: 'SRV' }, { name: instance, type: 'TXT' }] })
    }
  }

  // ---- receiving --------------------------------------------------------------

  onQuery(packet: Packet, rinfo: RemoteInfo, ep: Endpoint): void {
    if (this.state !== 'running' || !ep.onLink(rinfo.address)) return
    const service = serviceDomain(this.type)
    const instance = instanceDomain(this.ad.id, this.type)
    const host = `${this.ad.id}.local`
    const asked = (packet.questions ?? []).some((q) => {
      const name = q.name.toLowerCase()
      return name === service || name === instance || name === host
    })
    if (!asked) return
    // known-answer suppression: the querier already has our PTR with at least half its TTL
    const suppressed = (packet.answers ?? []).some(
      (a) => a.type === 'PTR' && a.name.toLowerCase() === service && typeof a.data === 'string' && a.data.toLowerCase() === instance && (a.ttl ?? 0) >= this.cfg.ttlS / 2,
    )
    if (suppressed) return
    if (rinfo.port !== this.cfg.port) {
      // a one-shot query (from an ephemeral port): answer by unicast to it, repeating its id and question (RFC 6762 §6.7)
      const answer = { ...this.packetFor(ep, Math.min(this.cfg.ttlS, 10)), id: packet.id ?? 0, questions: packet.questions ?? [] }
      ep.mdns?.respond(answer, { port: rinfo.port, address: rinfo.address }, (err: Error | null) => ep.sent(err))
      return
    }
    this.after(Math.random() * RESPONSE_JITTER_MS, () => this.announce(ep), true)
  }

  onResponse(packet: Packet, rinfo: RemoteInfo, ep: Endpoint): void {
    if (this.state !== 'running' || !ep.onLink(rinfo.address)) return
    const now = Date.now()
    for (const report of parseResponse(packet, this.type)) {
      const fields = advertisedFields(report.id, report.txt)
      if (report.id === this.ad.id) {
        // someone else claims our id: say so, never adopt it
        if (fields !== undefined && fields.key !== this.ownKey) this.conflict(this.ad.id, this.ad.publicKey, fields.publicKey, rinfo)
        continue
      }
      let peer = this.known.get(report.id)
      if (report.goodbye) {
        if (peer === undefined) continue
        // a goodbye signed with another key is not the peer leaving
        if (fields !== undefined && fields.key !== peer.key) {
          this.conflict(peer.id, peer.publicKey, fields.publicKey, rinfo)
          continue
        }
        this.known.delete(report.id)
        this.table.remove(report.id, 'goodbye')
        continue
      }
      if (report.txt !== undefined && fields === undefined) {
        this.log('ignoring %s: TXT record without valid id/pk/v/g', report.id)
        continue
      }
      if (fields !== undefined && fields.groupTag !== this.ad.groupTag) {
        this.log('ignoring %s: group %s is not ours', report.id, fields.groupTag)
        if (this.listenerCount('peer:foreign') > 0) this.emit('peer:foreign', { id: report.id, groupTag: fields.groupTag, version: fields.version, address: rinfo.address })
        if (peer !== undefined) {
          this.known.delete(report.id)
          this.table.remove(report.id, 'removed')
        }
        continue
      }
      if (peer !== undefined && fields !== undefined && fields.key !== peer.key) {
        this.conflict(peer.id, peer.publicKey, fields.publicKey, rinfo)
        continue
      }
      if (peer === undefined) {
        if (fields === undefined || report.port === undefined) {
          this.askOnce(report.id)
          continue
        }
        peer = { id: report.id, ...fields, port: report.port, addresses: new Map(), ttlMs: report.ttl * 1000, expiresAt: 0, lastSeen: now, refreshes: 0 }
        this.known.set(peer.id, peer)
      } else if (fields !== undefined) {
        peer.version = fields.version
      }
      if (report.port !== undefined) peer.port = report.port
      const announced = new Set<string>()
      for (const a of report.addresses) {
        const host = a.family === 6 && a.host.toLowerCase().startsWith('fe80:') ? `${a.host}%${ep.iface.name}` : a.host
        const address: PeerAddress = { host, port: peer.port, family: a.family, iface: ep.iface.name }
        const key = `${a.family}|${host}`
        announced.add(key)
        peer.addresses.set(key, { address, receivedAt: now, expiresAt: now + Math.max(a.ttl, 1) * 1000 })
      }
      this.flushAddresses(peer, report.addresses, announced, ep, now)
      if (peer.addresses.size === 0 && report.port !== undefined) {
        // announcements without address records: the sender's own address will do
        const family = rinfo.family === 'IPv6' ? 6 : 4
        const host = family === 6 && rinfo.address.startsWith('fe80:') && !rinfo.address.includes('%') ? `${rinfo.address}%${ep.iface.name}` : rinfo.address
        peer.addresses.set(`${family}|${host}`, { address: { host, port: peer.port, family, iface: ep.iface.name }, receivedAt: now, expiresAt: now + report.ttl * 1000 })
      }
      for (const entry of peer.addresses.values()) entry.address.port = peer.port
      if (report.ttl > 0) {
        peer.ttlMs = report.ttl * 1000
        peer.expiresAt = Math.max(peer.expiresAt, now + peer.ttlMs)
        peer.refreshes = 0
      }
      peer.lastSeen = now
      this.table.upsert(this.toPeer(peer))
    }
  }

  /**
   * Cache flush (RFC 6762 §10.2): address records announced with the flush bit
   * replace the ones of the same family learned on the same interface, unless
   * those were themselves announced within the last second (a device with
   * several addresses announces them together). A device that changed its
   * address is thus seen at the new one only, about a second later.
   */
  private flushAddresses(peer: KnownPeer, records: Array<{ family: 4 | 6; flush: boolean }>, announced: Set<string>, ep: Endpoint, now: number): void {
    if (peer.addresses.size <= announced.size) return // nothing beyond what was just announced
    const families = new Set(records.filter((r) => r.flush).map((r) => r.family))
    for (const [key, entry] of peer.addresses) {
      if (announced.has(key) || !families.has(entry.address.family) || entry.address.iface !== ep.iface.name) continue
      if (now - entry.receivedAt > CACHE_FLUSH_GRACE_MS) entry.expiresAt = Math.min(entry.expiresAt, now + CACHE_FLUSH_GRACE_MS)
    }
  }

  private askOnce(id: string): void {
    if (this.pendingAsks.has(id)) return
    this.pendingAsks.add(id)
    this.ask(id)
    this.after(1_000, () => this.pendingAsks.delete(id))
  }

  private conflict(id: string, knownKey: Uint8Array, claimedKey: Uint8Array, rinfo: RemoteInfo): void {
    const key = `${id}|${Buffer.from(claimedKey).toString('base64')}`
    if (this.conflictsReported.has(key)) return
    this.conflictsReported.add(key)
    this.log.error('device %s advertised with another key from %s: not trusted', id, rinfo.address)
    try {
      this.emit('peer:conflict', {
        id,
        knownKey,
        claimedKey,
        address: { host: rinfo.address, port: rinfo.port, family: rinfo.family === 'IPv6' ? 6 : 4 },
      })
    } catch (err) {
      this.log.error('a peer:conflict listener threw: %s', (err as Error).message)
    }
  }

  private toPeer(p: KnownPeer): DiscoveredPeer {
    const addresses = [...p.addresses.values()].map((e) => ({ ...e.address })).sort((a, b) => a.family - b.family)
    return { id: p.id, publicKey: p.publicKey, addresses, port: p.port, version: p.version, groupTag: p.groupTag, source: 'mdns', lastSeen: p.lastSeen }
  }

  /** Expiry and refresh: a peer whose records ran out is lost; at 50% / 75% of its TTL it is asked directly. */
  private maintain(): void {
    const now = Date.now()
    for (const p of [...this.known.values()]) {
      if (now >= p.expiresAt) {
        this.known.delete(p.id)
        this.table.remove(p.id, 'expired')
        continue
      }
      let changed = false
      for (const [key, entry] of p.addresses) {
        if (now >= entry.expiresAt && p.addresses.size > 1) {
          p.addresses.delete(key)
          changed = true
        }
      }
      if (changed) this.table.upsert(this.toPeer(p))
      const elapsed = 1 - (p.expiresAt - now) / p.ttlMs
      const stage = REFRESH_AT.filter((f) => elapsed >= f).length
      if (stage > p.refreshes) {
        p.refreshes = stage
        this.ask(p.id)
      }
    }
  }
}

/** mDNS / DNS-SD discovery. See {@link MdnsDiscoveryInit}. */
export function mdnsDiscovery(init: MdnsDiscoveryInit, components?: MdnsDiscoveryComponents): MdnsDiscovery {
  return new MdnsDiscovery(init, components)
}
