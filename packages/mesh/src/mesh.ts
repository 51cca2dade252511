/**
 * createMesh(): identity, discovery, one connection per peer, channels and a
 * leader, behind one object. Libp2p, multicast-dns and the election's state
 * machine stay inside.
 */
import { createConnectionLayer, PROTOCOL_VERSION, type ConnectionLayer, type PeerInfo } from '@meshkit/connection'
import { mdnsDiscovery, staticDiscovery, type DiscoveredPeer, type Discovery } from '@meshkit/discovery'
import { createElection, identityClaimCrypto, identityElectionStore, type Election, type LeaderView } from '@meshkit/election'
import { deriveGroupKey, encodeCredential, issueCredential, openIdentity, type DeviceIdentity, type OpenIdentity } from '@meshkit/identity'
import { defaultLogger, type Logger } from '@meshkit/log'
import { EventEmitter } from 'eventemitter3'
import { BehaviorSubject, distinctUntilChanged, map, type Observable } from 'rxjs'
import { DEFAULT_READY_TIMEOUT_MS, TIMELINE_ENTRIES } from './constants.js'
import { electionLink, type ElectionLink } from './election-link.js'
import { MeshNotRunningError, MeshReadyTimeoutError } from './errors.js'
import type { MeshEvents, MeshPeer, MeshPeerState, MeshStatus, TimelineEntry } from './events.js'
import { Messaging, type RequestOptions, type Responder, type SendOptions } from './messaging.js'
import { resolveOptions, type ChannelOptions, type MeshOptions, type ResolvedOptions } from './options.js'

export interface ReadyOptions {
  /** How many ready peers to wait for. Default 1. */
  peers?: number
  timeoutMs?: number
  signal?: AbortSignal
}

export interface MeshPeerStats {
  peerId: string
  state: MeshPeerState
  rttMs: number | undefined
  messagesSent: number
  messagesReceived: number
  bytesSent: number
  bytesReceived: number
  streamsOpened: number
  reconnects: number
  reliableOutbox: number
}

export interface Mesh extends EventEmitter<MeshEvents> {
  /** This device's id. */
  readonly id: string
  /** Every known peer with its state, on every change. */
  readonly peers$: Observable<ReadonlyMap<string, MeshPeer>>
  /** The leader: `{ id, term, role }`, on every change. */
  readonly leader$: Observable<LeaderView>
  readonly status$: Observable<MeshStatus>
  /** Current values. */
  peers: () => MeshPeer[]
  readonly leader: LeaderView
  readonly status: MeshStatus
  /** Where the QUIC endpoint listens. */
  readonly addresses: Array<{ host: string; port: number }>
  start: () => Promise<void>
  /** Hands leadership over, says goodbye, drains and closes, within `stopTimeoutMs`. Idempotent. */
  stop: () => Promise<void>
  /** Resolves when at least `peers` peers are ready (connected and authenticated). */
  ready: (options?: ReadyOptions) => Promise<string[]>
  /** Declares how a channel behaves (before using it). */
  channel: (name: string, options: ChannelOptions) => void
  send: (peerId: string, channel: string, payload: unknown, options?: SendOptions) => Promise<void>
  broadcast: Messaging['broadcast']
  request: <T = unknown>(peerId: string, channel: string, payload: unknown, options?: RequestOptions) => Promise<T>
  respond: (channel: string, responder: Responder) => () => void
  messages$: Messaging['messages$']
  messages: Messaging['messages']
  becomeLeader: (options?: { timeoutMs?: number; signal?: AbortSignal }) => Promise<LeaderView>
  stepDown: (options?: { timeoutMs?: number; signal?: AbortSignal }) => Promise<LeaderView>
  /**
   * Whether a leader-originated message stamped `term` (from `from`, when given) is
   * current: the term of the leader this device follows, and from that leader (fencing).
   */
  acceptsTerm: (term: number, from?: string) => boolean
  /** Connects to a peer at an address, without discovery. */
  addPeer: (address: string | { host: string; port: number; id?: string; publicKey?: Uint8Array }) => void
  stats: () => MeshPeerStats[]
  /** What happened, per peer (or the mesh's own entries with `peer` undefined). */
  timeline: (peerId?: string) => TimelineEntry[]
  exportTimeline: () => string
  /** Closes the connection to a peer now (tests and diagnostics); it reconnects if still wanted. */
  disconnect: (peerId: string) => void
  /** Counts of the transport for diagnostics (connections, sessions, pending hellos). */
  diagnostics: () => ReturnType<ConnectionLayer['diagnostics']>
}

class MeshImpl extends EventEmitter<MeshEvents> implements Mesh {
  private readonly opts: ResolvedOptions
  private readonly log: Logger
  private opened: OpenIdentity | undefined
  private identity: DeviceIdentity | undefined
  private layer: ConnectionLayer | undefined
  private discovery: Discovery | undefined
  private statics: Discovery | undefined
  private election: Election | undefined
  private link: ElectionLink | undefined
  private messaging: Messaging | undefined
  private readonly statusSubject = new BehaviorSubject<MeshStatus>('starting')
  private readonly peersSubject = new BehaviorSubject<ReadonlyMap<string, MeshPeer>>(new Map())
  private readonly leaderSubject = new BehaviorSubject<LeaderView>({ id: undefined, term: 0, role: 'none' })
  private readonly discovered = new Map<string, DiscoveredPeer>()
  private connectionInfo: ReadonlyMap<string, PeerInfo> = new Map()
  private readonly timelines = new Map<string, TimelineEntry[]>()
  private starting: Promise<void> | undefined
  private stopping: Promise<void> | undefined
  private readonly cleanups: Array<() => void> = []

  constructor(options: MeshOptions) {
    super()
    this.opts = resolveOptions(options)
    this.log = (options.logger ?? defaultLogger()).forComponent('meshkit:mesh')
    this.logger = options.logger ?? defaultLogger()
  }

  private readonly logger

  get id(): string {
    if (this.identity === undefined) throw new MeshNotRunningError('id')
    return this.identity.id
  }

  get peers$(): Observable<ReadonlyMap<string, MeshPeer>> {
    return this.peersSubject.asObservable()
  }

  get leader$(): Observable<LeaderView> {
    return this.leaderSubject.asObservable()
  }

  get status$(): Observable<MeshStatus> {
    return this.statusSubject.asObservable().pipe(distinctUntilChanged())
  }

  get leader(): LeaderView {
    return this.leaderSubject.value
  }

  get status(): MeshStatus {
    return this.statusSubject.value
  }

  get addresses(): Array<{ host: string; port: number }> {
    return this.layer?.addresses ?? []
  }

  peers(): MeshPeer[] {
    return [...this.peersSubject.value.values()]
  }

  private setStatus(status: MeshStatus): void {
    if (this.statusSubject.value === status) return
    this.statusSubject.next(status)
    this.safeEmit('status:changed', status)
  }

  private safeEmit<E extends keyof MeshEvents>(event: E, payload: Parameters<MeshEvents[E]>[0]): void {
    try {
      ;(this.emit as (e: string, p: unknown) => boolean)(event, payload)
    } catch (err) {
      this.log.error('a %s listener threw: %s', event, (err as Error).message)
    }
  }

  record(peer: string | undefined, event: string, detail?: Record<string, unknown>): void {
    const key = peer ?? ''
    let list = this.timelines.get(key)
    if (list === undefined) {
      list = []
      this.timelines.set(key, list)
    }
    list.push({ t: Date.now(), ...(peer !== undefined ? { peer } : {}), event, ...(detail !== undefined ? { detail } : {}) })
    if (list.length > TIMELINE_ENTRIES) list.splice(0, list.length - TIMELINE_ENTRIES)
  }

  // ---- lifecycle ------------------------------------------------------------

  async start(): Promise<void> {
    if (this.stopping !== undefined) throw new MeshNotRunningError('start()')
    this.starting ??= this.doStart().catch(async (err: unknown) => {
      await this.teardown()
      this.setStatus('stopped')
      throw err
    })
    return this.starting
  }

  private async doStart(): Promise<void> {
    const o = this.opts
    this.opened = await openIdentity(o.store)
    const identity = (this.identity = this.opened.identity)
    const group = deriveGroupKey(o.secret)
    const credential = encodeCredential(issueCredential(group, identity.id, identity.publicKey))
    this.record(undefined, 'identity', { id: identity.id, group: group.tag })

    const layer = (this.layer = createConnectionLayer(
      {
        identity,
        group,
        credential,
        listen: o.listen,
        ...(o.maxMessageBytes !== undefined ? { maxMessageBytes: o.maxMessageBytes } : {}),
        ...o.connection,
        helloExtensions: () => this.link?.helloExtension() ?? {},
      },
      { logger: this.logger },
    ))
    // wired before the layer starts: a peer may connect the moment it listens
    this.wireLayer(layer)
    const link = (this.link = electionLink(layer))
    await layer.start()
    const crypto = identityClaimCrypto({ identity, credential, groupPublicKey: group.publicKey, publicKeyOf: link.publicKeyOf })
    const election = (this.election = createElection(
      { claimContext: group.tag, ...o.election },
      { transport: link, ...crypto, store: identityElectionStore(o.store), logger: this.logger },
    ))
    election.on('leader:changed', (e) => {
      this.record(undefined, 'leader:changed', { id: e.leader.id, term: e.leader.term, role: e.leader.role })
      this.leaderSubject.next(e.leader)
      this.safeEmit('leader:changed', e)
      this.publishPeers()
    })
    await election.start()
    this.leaderSubject.next(election.leader)

    this.messaging = new Messaging(layer, election, o, (err) => this.reportError(err), this.log)
    this.messaging.onMessage = (m) => {
      if (this.listenerCount('message') > 0) this.safeEmit('message', m)
    }

    const advertisement = { id: identity.id, publicKey: identity.publicKey, port: layer.port, version: PROTOCOL_VERSION, groupTag: group.tag }
    if (o.peers.length > 0) {
      this.statics = staticDiscovery({ advertisement, peers: o.peers }, { logger: this.logger })
      this.wireDiscovery(this.statics)
      await this.statics.start()
    }
    if (o.discovery !== 'none') {
      this.discovery =
        o.discovery === 'mdns'
          ? mdnsDiscovery(
              { advertisement, app: o.app, loopbackOnly: o.loopbackOnly, ...(o.interfaces !== undefined ? { interfaces: o.interfaces } : {}), ...o.mdns },
              { logger: this.logger },
            )
          : typeof o.discovery === 'function'
            ? o.discovery(advertisement)
            : o.discovery
      this.wireDiscovery(this.discovery)
      await this.discovery.start()
    }
    this.setStatus('running')
    this.record(undefined, 'started', { port: layer.port })
  }

  private wireLayer(layer: ConnectionLayer): void {
    const sub = layer.peers$.subscribe((info) => {
      this.connectionInfo = info
      this.publishPeers()
    })
    this.cleanups.push(() => sub.unsubscribe())
    layer.on('peer:dialing', (e) => {
      if (e.peerId === undefined) return
      this.record(e.peerId, 'dialing', { address: `${e.address.host}:${e.address.port}`, attempt: e.attempt })
      this.safeEmit('peer:connecting', { peerId: e.peerId })
    })
    layer.on('peer:dial-failed', (e) => e.peerId !== undefined && this.record(e.peerId, 'dial-failed', { address: `${e.address.host}:${e.address.port}`, error: e.error.message }))
    layer.on('peer:connected', (e) => {
      this.record(e.peerId, 'ready', { connection: e.connection.key, direction: e.connection.direction, epoch: e.epoch, reconnect: e.reconnect })
      this.safeEmit('peer:ready', { peerId: e.peerId, reconnect: e.reconnect })
    })
    layer.on('peer:disconnected', (e) => {
      this.record(e.peerId, 'disconnected', { reason: e.reason, ...(e.error !== undefined ? { error: e.error.message } : {}) })
      this.safeEmit('peer:disconnected', { peerId: e.peerId, reason: e.reason })
    })
    layer.on('peer:rejected', (e) => {
      this.record(e.peerId, 'rejected', { reason: e.reason, byPeer: e.byPeer, error: e.error.message })
      this.safeEmit('peer:rejected', { ...(e.peerId !== undefined ? { peerId: e.peerId } : {}), reason: e.reason, byPeer: e.byPeer, error: e.error })
    })
    layer.on('connection:duplicate-closed', (e) => {
      this.record(e.peerId, 'duplicate-closed', { kept: e.kept.key, closed: e.closed.key, reason: e.reason, rule: e.rule })
      this.safeEmit('connection:duplicate-closed', e)
    })
    layer.on('connection:protocol-error', (e) => {
      this.record(e.peerId, 'protocol-error', { error: e.error.message })
      this.reportError(e.error)
    })
    layer.on('handler:error', (e) => this.reportError(e.error instanceof Error ? e.error : new Error(String(e.error))))
  }

  private wireDiscovery(discovery: Discovery): void {
    discovery.on('peer:found', (p) => this.found(p))
    discovery.on('peer:updated', (p) => this.found(p, true))
    discovery.on('peer:lost', ({ id, reason }) => {
      this.discovered.delete(id)
      this.record(id, 'lost', { reason })
      this.safeEmit('peer:lost', { peerId: id, reason })
      // stop reconnecting; a healthy connection stays until it closes by itself
      void this.layer?.removePeer(id, { keepConnection: true })
      this.publishPeers()
    })
    discovery.on('peer:conflict', (e) => {
      this.record(e.id, 'conflict', { address: e.address?.host })
      this.reportError(new Error(`device ${e.id} was advertised with another key: ignored`))
    })
    discovery.on('error', (err) => {
      this.record(undefined, 'discovery-error', { name: err.name, message: err.message })
      this.reportError(err)
    })
  }

  private found(peer: DiscoveredPeer, updated = false): void {
    const layer = this.layer
    if (layer === undefined) return
    const known = peer.id.startsWith('static:') ? undefined : peer.id
    if (known !== undefined) this.discovered.set(known, peer)
    this.record(known, updated ? 'updated' : 'discovered', { source: peer.source, addresses: peer.addresses.map((a) => `${a.host}:${a.port}`) })
    if (!updated && known !== undefined) this.safeEmit('peer:discovered', { peerId: known, addresses: peer.addresses })
    try {
      layer.addPeer({
        ...(known !== undefined ? { id: known } : {}),
        ...(peer.publicKey !== undefined ? { publicKey: peer.publicKey } : {}),
        addresses: peer.addresses.map((a) => ({ host: a.host, port: a.port })),
      })
    } catch (err) {
      this.reportError(err as Error)
    }
    this.publishPeers()
  }

  private reportError(err: Error): void {
    this.log.error('%s: %s', err.name, err.message)
    if (this.listenerCount('error') > 0) this.safeEmit('error', err)
  }

  private publishPeers(): void {
    const out = new Map<string, MeshPeer>()
    const leader = this.leaderSubject.value.id
    for (const [id, d] of this.discovered) out.set(id, { id, state: 'discovered', addresses: d.addresses, leader: id === leader })
    for (const [id, info] of this.connectionInfo) {
      const state: MeshPeerState | undefined =
        info.state === 'connected' ? 'ready' : info.state === 'dialing' ? 'connecting' : info.state === 'rejected' ? 'rejected' : info.state === 'disconnected' ? 'disconnected' : undefined
      const prev = out.get(id)
      if (state === undefined) continue
      if (state === 'disconnected' && !this.discovered.has(id) && !info.wanted) continue
      out.set(id, {
        id,
        state,
        addresses: prev?.addresses ?? info.addresses.map((a) => ({ host: a.host, port: a.port, family: a.host.includes(':') ? 6 : 4 })),
        ...(info.rttMs !== undefined ? { rttMs: Math.round(info.rttMs * 1000) / 1000 } : {}),
        ...(info.lastReason !== undefined && state !== 'ready' ? { reason: info.lastReason } : {}),
        leader: id === leader,
      })
    }
    this.peersSubject.next(out)
  }

  async stop(): Promise<void> {
    if (this.starting === undefined) {
      this.setStatus('stopped')
      return
    }
    this.stopping ??= (async () => {
      await this.starting?.catch(() => {})
      if (this.status === 'stopped') return
      this.setStatus('stopping')
      this.record(undefined, 'stopping')
      let timer: ReturnType<typeof setTimeout> | undefined
      const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.opts.stopTimeoutMs)))
      await Promise.race([this.teardown(), bound])
      clearTimeout(timer)
      this.setStatus('stopped')
      this.statusSubject.complete()
      this.peersSubject.complete()
      this.leaderSubject.complete()
      this.removeAllListeners()
    })()
    return this.stopping
  }

  /** Election handover first (peers are still connected), then discovery goodbye, messaging, connections, identity lock. */
  private async teardown(): Promise<void> {
    await this.election?.stop().catch((err: unknown) => this.log.error('election stop: %s', (err as Error).message))
    await Promise.all([this.discovery, this.statics].map(async (d) => d?.stop().catch(() => {})))
    this.messaging?.close()
    for (const c of this.cleanups.splice(0)) c()
    await this.layer?.stop().catch((err: unknown) => this.log.error('connection stop: %s', (err as Error).message))
    await this.opened?.close()
  }

  private running(what: string): { messaging: Messaging; election: Election; layer: ConnectionLayer } {
    if (this.status !== 'running' || this.messaging === undefined || this.election === undefined || this.layer === undefined) throw new MeshNotRunningError(what)
    return { messaging: this.messaging, election: this.election, layer: this.layer }
  }

  async ready(options: ReadyOptions = {}): Promise<string[]> {
    const wanted = options.peers ?? 1
    const timeoutMs = options.timeoutMs ?? DEFAULT_READY_TIMEOUT_MS
    if (this.status === 'starting') await this.start()
    this.running('ready()')
    const readyIds = (m: ReadonlyMap<string, MeshPeer>): string[] => [...m.values()].filter((p) => p.state === 'ready').map((p) => p.id)
    return new Promise<string[]>((resolve, reject) => {
      options.signal?.throwIfAborted()
      const timer = setTimeout(() => {
        sub.unsubscribe()
        reject(new MeshReadyTimeoutError(wanted, readyIds(this.peersSubject.value).length, timeoutMs))
      }, timeoutMs)
      const onAbort = (): void => {
        clearTimeout(timer)
        sub.unsubscribe()
        reject(options.signal?.reason as Error)
      }
      options.signal?.addEventListener('abort', onAbort, { once: true })
      const sub = this.peersSubject.pipe(map(readyIds)).subscribe((ids) => {
        if (ids.length < wanted) return
        clearTimeout(timer)
        options.signal?.removeEventListener('abort', onAbort)
        queueMicrotask(() => sub.unsubscribe())
        resolve(ids)
      })
    })
  }

  channel(name: string, options: ChannelOptions): void {
    this.running('channel()').messaging.configure(name, options)
  }

  async send(peerId: string, channel: string, payload: unknown, options?: SendOptions): Promise<void> {
    return this.running('send()').messaging.send(peerId, channel, payload, options)
  }

  readonly broadcast: Messaging['broadcast'] = (channel, payload, options) => {
    try {
      return this.running('broadcast()').messaging.broadcast(channel, payload, options)
    } catch (err) {
      return Promise.reject(err as Error)
    }
  }

  async request<T = unknown>(peerId: string, channel: string, payload: unknown, options?: RequestOptions): Promise<T> {
    return this.running('request()').messaging.request<T>(peerId, channel, payload, options)
  }

  respond(channel: string, responder: Responder): () => void {
    return this.running('respond()').messaging.respond(channel, responder)
  }

  readonly messages$: Messaging['messages$'] = (channel, options) => this.running('messages$()').messaging.messages$(channel, options)

  readonly messages: Messaging['messages'] = (channel, options) => this.running('messages()').messaging.messages(channel, options)

  async becomeLeader(options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<LeaderView> {
    return this.running('becomeLeader()').election.becomeLeader(options)
  }

  async stepDown(options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<LeaderView> {
    return this.running('stepDown()').election.stepDown(options)
  }

  acceptsTerm(term: number, from?: string): boolean {
    return this.election?.accepts(term, from) ?? false
  }

  addPeer(address: string | { host: string; port: number; id?: string; publicKey?: Uint8Array }): void {
    const { layer } = this.running('addPeer()')
    if (typeof address === 'string') layer.addPeer({ addresses: [address] })
    else layer.addPeer({ ...(address.id !== undefined ? { id: address.id } : {}), ...(address.publicKey !== undefined ? { publicKey: address.publicKey } : {}), addresses: [{ host: address.host, port: address.port }] })
  }

  stats(): MeshPeerStats[] {
    const layer = this.layer
    if (layer === undefined) return []
    return this.peers().flatMap((p) => {
      const s = layer.stats(p.id)
      if (s === undefined) return []
      return [{ ...s, state: p.state, reliableOutbox: this.messaging?.outboxSize(p.id) ?? 0 }]
    })
  }

  timeline(peerId?: string): TimelineEntry[] {
    if (peerId !== undefined) return [...(this.timelines.get(peerId) ?? [])]
    return [...this.timelines.values()].flat().sort((a, b) => a.t - b.t)
  }

  exportTimeline(): string {
    return JSON.stringify({ device: this.identity?.id, exportedAt: Date.now(), entries: this.timeline() }, null, 2)
  }

  disconnect(peerId: string): void {
    this.layer?.disconnect(peerId)
  }

  diagnostics(): ReturnType<ConnectionLayer['diagnostics']> {
    return this.layer?.diagnostics() ?? { transportConnections: 0, sessions: 0, pendingHellos: 0, activePeers: 0 }
  }
}

/** Creates and starts a mesh. */
export async function createMesh(options: MeshOptions): Promise<Mesh> {
  const mesh = new MeshImpl(options)
  await mesh.start()
  return mesh
}

/** Creates a mesh without starting it (call `start()`). */
export function meshOf(options: MeshOptions): Mesh {
  return new MeshImpl(options)
}
