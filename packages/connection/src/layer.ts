/**
 * The connection layer: a QUIC endpoint (libp2p, QUIC only) that keeps exactly
 * one authenticated connection per wanted peer, and carries named channels on
 * long-lived streams over it. It takes "peer at address" facts from outside
 * (discovery, a static list) through `addPeer()`.
 */
import type { Connection, Libp2p, Stream } from '@libp2p/interface'
import { defaultLogger, type ComponentLogger, type Logger } from '@meshkit/log'
import { EventEmitter } from 'eventemitter3'
import { randomBytes } from 'node:crypto'
import { BehaviorSubject, type Observable } from 'rxjs'
import type { ChannelHandler, ChannelMessage } from './channel-in.js'
import { channelDecoder } from './channel-in.js'
import {
  CHANNEL_NAME_PATTERN,
  CHANNEL_PROTOCOL,
  CONTROL_PROTOCOL,
  DEFAULT_DIAL_GRACE_MS,
  DEFAULT_DIAL_TIMEOUT_MS,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_HEARTBEAT_TIMEOUT_MS,
  DEFAULT_HELLO_TIMEOUT_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_KEEPALIVE_MS,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_MAX_PENDING_CONNECTIONS,
  DEFAULT_MAX_QUEUED_BYTES,
  DEFAULT_RECONNECT_MAX_MS,
  DEFAULT_RECONNECT_MIN_MS,
  DEFAULT_WINDOW_BYTES,
  DUPLICATE_DRAIN_TIMEOUT_MS,
  PROTOCOL_VERSION,
} from './constants.js'
import { FrameType, MAX_FRAME_OVERHEAD, type Frame } from './codec.js'
import {
  ConnectionRejectedError,
  InvalidArgumentError,
  InvalidChannelNameError,
  ListenError,
  MalformedFrameError,
  NotStartedError,
  PeerNotConnectedError,
  ProtocolError,
  UnknownFrameTypeError,
} from './errors.js'
import type { ConnectionLayerEvents, PeerInfo, PeerStats } from './events.js'
import { FramedStream } from './framed-stream.js'
import { dialerHandshake, listenerHandshake, RejectedByPeerError, type HandshakeResult } from './handshake.js'
import { checkHello, type Hello } from './hello.js'
import { createQuicNode, formatHostPort, fromMultiaddr, normalizeHostPort, parseHostPort, peerIdOf, publicKeyOf, toMultiaddr, type HostPort } from './libp2p-node.js'
import { Peer, refOf, type PeerContext } from './peer.js'
import { Session } from './session.js'

export interface ConnectionLayerInit {
  /** This device: id and Ed25519 keys (from @meshkit/identity). */
  identity: { id: string; publicKey: Uint8Array; secretKey: Uint8Array }
  /** The group's public key and tag (from @meshkit/identity's deriveGroupKey). */
  group: { publicKey: Uint8Array; tag: string }
  /** This device's encoded group credential (121 bytes, `encodeCredential`). */
  credential: Uint8Array
  /** Where to listen, `host:port` (IPv6: `[addr]:port`). Default `['0.0.0.0:0']`. */
  listen?: string[]
  /** Largest message accepted and sent. Default {@link DEFAULT_MAX_MESSAGE_BYTES}. */
  maxMessageBytes?: number
  /** Credit window granted per channel stream. Default {@link DEFAULT_WINDOW_BYTES}; at least 2x maxMessageBytes. */
  windowBytes?: number
  /** Bytes queued per channel beyond the window before `send()` fails. Default {@link DEFAULT_MAX_QUEUED_BYTES}. */
  maxQueuedBytes?: number
  dialGraceMs?: number
  dialTimeoutMs?: number
  helloTimeoutMs?: number
  maxPendingConnections?: number
  idleTimeoutMs?: number
  keepAliveMs?: number
  heartbeatIntervalMs?: number
  heartbeatTimeoutMs?: number
  reconnectMinMs?: number
  reconnectMaxMs?: number
  drainTimeoutMs?: number
  /** Upper layers' hello extensions (e.g. election state), read for every hello. */
  helloExtensions?: () => Record<string, unknown>
}

export interface ConnectionLayerComponents {
  logger?: ComponentLogger
}

/** A "peer at address" fact. Without `id`, the hello tells who answers. */
export interface PeerTarget {
  id?: string
  /** Expected Ed25519 key: QUIC's TLS then verifies it during the dial. */
  publicKey?: Uint8Array
  addresses: Array<HostPort | string>
}

export interface SendOptions {
  signal?: AbortSignal
  /** Reject with `WouldBlockError` instead of waiting when the message cannot be written at once. */
  ifReady?: boolean
}

export interface ConnectionLayer extends EventEmitter<ConnectionLayerEvents> {
  /** This device's id. */
  readonly id: string
  /** Where the QUIC endpoint listens (after `start()`). */
  readonly addresses: HostPort[]
  /** The UDP port of the first listen address (after `start()`). */
  readonly port: number
  /** Every peer this layer knows, updated on each change. */
  readonly peers$: Observable<ReadonlyMap<string, PeerInfo>>
  start: () => Promise<void>
  /** Says goodbye (GOAWAY), lets in-flight data drain (bounded), closes everything. */
  stop: () => Promise<void>
  /** Wants a peer connected at these addresses; merges with what is known. */
  addPeer: (target: PeerTarget) => void
  /**
   * No longer wants the peer: stops dialing and reconnecting, and closes its
   * connection (drained) unless `keepConnection` (e.g. discovery lost sight of
   * a peer whose connection is still healthy: let the connection decide).
   */
  removePeer: (id: string, options?: { keepConnection?: boolean }) => Promise<void>
  peers: () => PeerInfo[]
  peer: (id: string) => PeerInfo | undefined
  connectedPeers: () => readonly string[]
  send: (peerId: string, channel: string, payload: Uint8Array, options?: SendOptions) => Promise<void>
  /**
   * Writes at once when nothing waits and credit is available, without
   * allocating a promise (the hot path of broadcasts); returns false otherwise,
   * and the caller uses `send()`.
   */
  trySend: (peerId: string, channel: string, payload: Uint8Array) => boolean
  /** Delivers the channel's messages to `handler`; returns the function that unregisters it. */
  handle: (channel: string, handler: ChannelHandler) => () => void
  /**
   * Receives messages of channels that have no handler (e.g. to register one
   * on first use). Without it, such messages wait (within the credit window)
   * until a handler is registered.
   */
  handleUnknown: (handler: ChannelHandler | undefined) => void
  stats: (peerId: string) => PeerStats | undefined
  /** Closes the connection to a peer now (tests, diagnostics); it is redialed if still wanted. */
  disconnect: (peerId: string) => void
  /** Counts for diagnostics and tests: transport connections, established sessions, hellos in progress. */
  diagnostics: () => LayerDiagnostics
}

export interface LayerDiagnostics {
  transportConnections: number
  sessions: number
  pendingHellos: number
  activePeers: number
}

interface PendingInbound {
  conn: Connection
  timer: ReturnType<typeof setTimeout>
  established: Promise<Session | undefined>
  resolve: (session: Session | undefined) => void
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')

/** Validates a channel name; `$`-prefixed names are reserved for meshkit's own channels. */
export function assertChannelName(channel: string, internal = false): void {
  const name = internal && channel.startsWith('$') ? channel.slice(1) : channel
  if (typeof channel !== 'string' || !CHANNEL_NAME_PATTERN.test(name)) throw new InvalidChannelNameError(String(channel))
}

export function createConnectionLayer(init: ConnectionLayerInit, components: ConnectionLayerComponents = {}): ConnectionLayer {
  return new QuicConnectionLayer(init, components)
}

class QuicConnectionLayer extends EventEmitter<ConnectionLayerEvents> implements ConnectionLayer {
  readonly id: string
  private readonly log: Logger
  private readonly config
  private node: Libp2p | undefined
  private running = false
  private starting: Promise<void> | undefined
  private stopping: Promise<void> | undefined
  private epoch = randomBytes(8)
  private readonly stopController = new AbortController()
  private readonly peerMap = new Map<string, Peer>()
  private readonly anonymous = new Map<string, { target: PeerTarget; controller: AbortController }>()
  private readonly pending = new Map<string, PendingInbound>()
  private readonly sessionsByConn = new Map<string, Session>()
  private readonly outboundEstablishing = new Map<string, Promise<Session | undefined>>()
  private readonly handlers = new Map<string, ChannelHandler>()
  private readonly validChannels = new Set<string>()
  private unknownHandler: ChannelHandler | undefined
  /** connectedPeers(), recomputed after any change (the hot path of broadcasts reads it); shared, hence readonly. */
  private connectedCache: string[] | undefined
  private readonly subject = new BehaviorSubject<ReadonlyMap<string, PeerInfo>>(new Map())
  private changeQueued = false
  private readonly peerContext: PeerContext
  readonly peers$: Observable<ReadonlyMap<string, PeerInfo>> = this.subject.asObservable()

  constructor(
    private readonly init: ConnectionLayerInit,
    components: ConnectionLayerComponents,
  ) {
    super()
    this.id = init.identity.id
    const logger = components.logger ?? defaultLogger()
    this.log = logger.forComponent('meshkit:connection')
    const maxMessageBytes = init.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES
    const windowBytes = init.windowBytes ?? Math.max(DEFAULT_WINDOW_BYTES, 2 * (maxMessageBytes + MAX_FRAME_OVERHEAD))
    if (!Number.isSafeInteger(maxMessageBytes) || maxMessageBytes < 1) throw new InvalidArgumentError(`maxMessageBytes must be a positive integer, got ${maxMessageBytes}`)
    if (windowBytes < 2 * (maxMessageBytes + MAX_FRAME_OVERHEAD)) {
      throw new InvalidArgumentError(`windowBytes (${windowBytes}) must be at least twice maxMessageBytes + ${MAX_FRAME_OVERHEAD} so a full-size message always fits`)
    }
    this.config = {
      listen: (init.listen ?? ['0.0.0.0:0']).map(parseHostPort),
      maxMessageBytes,
      windowBytes,
      maxQueuedBytes: init.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES,
      dialGraceMs: init.dialGraceMs ?? DEFAULT_DIAL_GRACE_MS,
      dialTimeoutMs: init.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS,
      helloTimeoutMs: init.helloTimeoutMs ?? DEFAULT_HELLO_TIMEOUT_MS,
      maxPendingConnections: init.maxPendingConnections ?? DEFAULT_MAX_PENDING_CONNECTIONS,
      idleTimeoutMs: init.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
      keepAliveMs: init.keepAliveMs ?? DEFAULT_KEEPALIVE_MS,
      heartbeatIntervalMs: init.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS,
      heartbeatTimeoutMs: init.heartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS,
      reconnectMinMs: init.reconnectMinMs ?? DEFAULT_RECONNECT_MIN_MS,
      reconnectMaxMs: init.reconnectMaxMs ?? DEFAULT_RECONNECT_MAX_MS,
      drainTimeoutMs: init.drainTimeoutMs ?? DUPLICATE_DRAIN_TIMEOUT_MS,
    }
    this.peerContext = {
      localId: this.id,
      config: this.config,
      log: this.log,
      running: () => this.running,
      stopSignal: () => this.stopController.signal,
      dial: (peer, attempt, signal) => this.dialPeer(peer, attempt, signal),
      handlerFor: (channel) => this.handlers.get(channel) ?? this.unknownHandler,
      emit: {
        connected: (peer, session, reconnect) =>
          this.safeEmit('peer:connected', {
            peerId: peer.id,
            connection: refOf(session, this.id),
            publicKey: session.remote.decodedCredential.publicKey,
            epoch: hex(session.remote.epoch),
            listenAddresses: session.remote.addresses.flatMap((a) => {
              try {
                return [parseHostPort(a)]
              } catch {
                return []
              }
            }),
            ext: session.remote.ext,
            reconnect,
          }),
        disconnected: (peer, session, reason, error) =>
          this.safeEmit('peer:disconnected', { peerId: peer.id, connection: refOf(session, this.id), reason, ...(error !== undefined ? { error } : {}) }),
        duplicate: (peer, kept, closed, reason, rule) =>
          this.safeEmit('connection:duplicate-closed', { peerId: peer.id, kept: refOf(kept, this.id), closed: refOf(closed, this.id), reason, rule }),
        handlerError: (error: unknown, message: ChannelMessage) => {
          this.log.error('handler for channel %s threw: %s', message.channel, (error as Error)?.message)
          this.safeEmit('handler:error', { error, message })
        },
        changed: () => this.changed(),
      },
    }
  }

  private safeEmit<E extends keyof ConnectionLayerEvents>(event: E, payload: Parameters<ConnectionLayerEvents[E]>[0]): void {
    if (!this.running && event !== 'peer:disconnected') return
    try {
      ;(this.emit as (e: string, p: unknown) => boolean)(event, payload)
    } catch (err) {
      this.log.error('listener of %s threw: %s', event, (err as Error).message)
    }
  }

  private changed(): void {
    this.connectedCache = undefined
    if (this.changeQueued) return
    this.changeQueued = true
    queueMicrotask(() => {
      this.changeQueued = false
      this.subject.next(new Map([...this.peerMap].map(([id, p]) => [id, p.info()])))
    })
  }

  get addresses(): HostPort[] {
    if (this.node === undefined) return []
    return this.node.getMultiaddrs().flatMap((ma) => {
      const hp = fromMultiaddr(ma)
      return hp === undefined ? [] : [hp]
    })
  }

  get port(): number {
    return this.addresses[0]?.port ?? 0
  }

  // ---- lifecycle ------------------------------------------------------------

  async start(): Promise<void> {
    if (this.stopping !== undefined) throw new NotStartedError('start()')
    this.starting ??= this.doStart()
    return this.starting
  }

  private async doStart(): Promise<void> {
    const node = await createQuicNode({
      secretKey: this.init.identity.secretKey,
      listen: this.config.listen,
      idleTimeoutMs: this.config.idleTimeoutMs,
      keepAliveMs: this.config.keepAliveMs,
      maxConnections: 4096,
    })
    await node.handle(CONTROL_PROTOCOL, (stream, conn) => this.onControlStream(stream, conn), { maxInboundStreams: 2, maxOutboundStreams: 2 })
    await node.handle(CHANNEL_PROTOCOL, (stream, conn) => this.onChannelStream(stream, conn), { maxInboundStreams: 4096, maxOutboundStreams: 4096 })
    node.addEventListener('connection:open', (evt) => this.onConnectionOpen(evt.detail))
    try {
      await node.start()
    } catch (err) {
      await Promise.resolve(node.stop()).catch(() => {})
      throw new ListenError(this.config.listen.map(formatHostPort).join(', '), { cause: err })
    }
    this.node = node
    this.running = true
    this.log('listening on %s as %s', this.addresses.map(formatHostPort).join(', '), this.id)
  }

  async stop(): Promise<void> {
    if (this.starting === undefined) {
      this.stopping ??= Promise.resolve()
      return this.stopping
    }
    this.stopping ??= this.doStop()
    return this.stopping
  }

  private async doStop(): Promise<void> {
    await this.starting?.catch(() => {})
    const node = this.node
    this.stopController.abort(new NotStartedError('dial'))
    for (const { controller } of this.anonymous.values()) controller.abort()
    this.anonymous.clear()
    // goodbye first, while events still flow
    await Promise.all([...this.peerMap.values()].map((p) => p.shutdown()))
    this.running = false
    for (const p of this.pending.values()) {
      clearTimeout(p.timer)
      p.resolve(undefined)
    }
    this.pending.clear()
    await Promise.resolve(node?.stop()).catch((err: unknown) => this.log.error('stopping libp2p: %s', (err as Error).message))
    this.subject.complete()
    this.removeAllListeners()
  }

  private assertRunning(what: string): Libp2p {
    if (!this.running || this.node === undefined) throw new NotStartedError(what)
    return this.node
  }

  // ---- peers ----------------------------------------------------------------

  private peerFor(id: string): Peer {
    let peer = this.peerMap.get(id)
    if (peer === undefined) {
      peer = new Peer(id, this.peerContext)
      this.peerMap.set(id, peer)
    }
    return peer
  }

  addPeer(target: PeerTarget): void {
    this.assertRunning('addPeer()')
    const addresses = (Array.isArray(target.addresses) ? target.addresses : []).map(normalizeHostPort)
    if (addresses.length === 0) throw new InvalidArgumentError('addPeer() needs at least one address')
    if (target.publicKey !== undefined && target.publicKey.length !== 32) throw new InvalidArgumentError('publicKey must be a 32-byte Ed25519 key')
    if (target.id === undefined) {
      this.addAnonymous({ ...target, addresses })
      return
    }
    if (target.id === this.id) return
    const peer = this.peerFor(target.id)
    peer.wanted = true
    peer.rejected = false
    peer.setAddresses(addresses)
    if (target.publicKey !== undefined) peer.publicKey = target.publicKey
    peer.schedule()
    this.changed()
  }

  private addAnonymous(target: PeerTarget & { addresses: HostPort[] }): void {
    const key = target.addresses.map(formatHostPort).join(',')
    if (this.anonymous.has(key)) return
    const controller = new AbortController()
    this.anonymous.set(key, { target, controller })
    const attempt = async (): Promise<void> => {
      let n = 0
      let delay = this.config.reconnectMinMs
      while (!controller.signal.aborted && this.running) {
        n++
        try {
          const session = await this.dialAddresses(target.addresses, undefined, target.publicKey, n, controller.signal)
          // now we know who it is: from here on it is a peer like any other
          const peer = this.peerFor(session.peerId)
          peer.wanted = true
          if (peer.addresses.length === 0) peer.addresses = target.addresses
          this.anonymous.delete(key)
          this.changed()
          return
        } catch (err) {
          if (err instanceof ConnectionRejectedError && err.reason !== 'hello-timeout' && err.reason !== 'overload') {
            this.anonymous.delete(key)
            return
          }
        }
        await new Promise((resolve) => setTimeout(resolve, delay * (1 + Math.random())))
        delay = Math.min(delay * 2, this.config.reconnectMaxMs)
      }
    }
    void attempt()
  }

  async removePeer(id: string, options: { keepConnection?: boolean } = {}): Promise<void> {
    const peer = this.peerMap.get(id)
    if (peer === undefined) return
    peer.wanted = false
    peer.stopDialing()
    if (options.keepConnection !== true) await Promise.all([...peer.sessions].map((s) => s.drain('unwanted')))
    this.changed()
  }

  peers(): PeerInfo[] {
    return [...this.peerMap.values()].map((p) => p.info())
  }

  peer(id: string): PeerInfo | undefined {
    return this.peerMap.get(id)?.info()
  }

  connectedPeers(): readonly string[] {
    this.connectedCache ??= [...this.peerMap.values()].filter((p) => p.active !== undefined).map((p) => p.id)
    return this.connectedCache
  }

  stats(peerId: string): PeerStats | undefined {
    return this.peerMap.get(peerId)?.stats()
  }

  disconnect(peerId: string): void {
    this.peerMap.get(peerId)?.active?.close('unwanted')
  }

  diagnostics(): LayerDiagnostics {
    return {
      transportConnections: this.node?.getConnections().length ?? 0,
      sessions: this.sessionsByConn.size,
      pendingHellos: this.pending.size,
      activePeers: this.connectedPeers().length,
    }
  }

  // ---- messaging ------------------------------------------------------------

  send(peerId: string, channel: string, payload: Uint8Array, options: SendOptions = {}): Promise<void> {
    // not async: the hot path of every message; errors still arrive as rejections
    try {
      this.assertRunning('send()')
      if (!this.validChannels.has(channel)) {
        assertChannelName(channel, true)
        if (this.validChannels.size < 10_000) this.validChannels.add(channel)
      }
      if (!(payload instanceof Uint8Array)) throw new InvalidArgumentError('payload must be a Uint8Array')
      const peer = this.peerMap.get(peerId)
      if (peer === undefined) throw new PeerNotConnectedError(peerId)
      return peer.send(channel, payload, options.signal, options.ifReady === true)
    } catch (err) {
      return Promise.reject(err as Error)
    }
  }

  trySend(peerId: string, channel: string, payload: Uint8Array): boolean {
    if (!this.running || !(payload instanceof Uint8Array) || !this.validChannels.has(channel)) return false
    return this.peerMap.get(peerId)?.trySend(channel, payload) ?? false
  }

  handle(channel: string, handler: ChannelHandler): () => void {
    assertChannelName(channel, true)
    if (this.handlers.has(channel)) throw new InvalidArgumentError(`channel ${channel} already has a handler`)
    this.handlers.set(channel, handler)
    for (const peer of this.peerMap.values()) peer.kick(channel)
    return () => {
      if (this.handlers.get(channel) === handler) this.handlers.delete(channel)
    }
  }

  handleUnknown(handler: ChannelHandler | undefined): void {
    this.unknownHandler = handler
  }

  // ---- handshakes -----------------------------------------------------------

  private localHello(): Hello {
    return {
      version: PROTOCOL_VERSION,
      id: this.id,
      credential: this.init.credential,
      epoch: this.epoch,
      nonce: randomBytes(8),
      groupTag: this.init.group.tag,
      addresses: this.addresses.map(formatHostPort),
      maxMessageBytes: this.config.maxMessageBytes,
      windowBytes: this.config.windowBytes,
      ext: this.init.helloExtensions?.() ?? {},
    }
  }

  private rejected(err: unknown, direction: 'inbound' | 'outbound', conn: Connection | undefined): void {
    if (!(err instanceof ConnectionRejectedError)) return
    const address = conn !== undefined ? fromMultiaddr(conn.remoteAddr) : undefined
    this.log('%s connection %s rejected (%s%s): %s', direction, conn?.id ?? '-', err.reason, err instanceof RejectedByPeerError ? ', by peer' : '', err.message)
    this.safeEmit('peer:rejected', {
      ...(err.peerId !== undefined ? { peerId: err.peerId } : {}),
      ...(address !== undefined ? { address } : {}),
      direction,
      reason: err.reason,
      byPeer: err instanceof RejectedByPeerError,
      error: err,
    })
  }

  /** Closes a refused connection once the REJECT had a chance to arrive (or the peer closed first). */
  private closeAfterReject(conn: Connection): void {
    if (conn.status !== 'open') return
    const timer = setTimeout(() => conn.abort(new Error('hello rejected')), 250)
    conn.addEventListener('close', () => clearTimeout(timer), { once: true })
  }

  private onConnectionOpen(conn: Connection): void {
    if (conn.direction !== 'inbound') return
    if (!this.running) {
      conn.abort(new Error('shutting down'))
      return
    }
    if (this.pending.size >= this.config.maxPendingConnections) {
      // Shed the oldest connection still without a hello, not the newest: an
      // honest peer finishes its hello in milliseconds, a flooder never does,
      // so under a flood the slots turn over and honest peers still get in.
      const [oldestId, oldest] = this.pending.entries().next().value as [string, PendingInbound]
      clearTimeout(oldest.timer)
      this.pending.delete(oldestId)
      oldest.resolve(undefined)
      oldest.conn.abort(new Error('overload'))
      this.rejected(new ConnectionRejectedError('overload', `more than ${this.config.maxPendingConnections} connections were in their hello; the oldest was closed`), 'inbound', oldest.conn)
    }
    let resolve!: (s: Session | undefined) => void
    const established = new Promise<Session | undefined>((r) => (resolve = r))
    const timer = setTimeout(() => {
      if (!this.pending.has(conn.id)) return
      this.pending.delete(conn.id)
      resolve(undefined)
      conn.abort(new Error('hello timeout'))
      this.rejected(new ConnectionRejectedError('hello-timeout', `no hello within ${this.config.helloTimeoutMs} ms`), 'inbound', conn)
    }, this.config.helloTimeoutMs)
    this.pending.set(conn.id, { conn, timer, established, resolve })
    conn.addEventListener(
      'close',
      () => {
        const p = this.pending.get(conn.id)
        if (p === undefined) return
        clearTimeout(p.timer)
        this.pending.delete(conn.id)
        p.resolve(undefined)
      },
      { once: true },
    )
  }

  private onControlStream(stream: Stream, conn: Connection): void {
    const pending = this.pending.get(conn.id)
    if (conn.direction !== 'inbound' || pending === undefined) {
      stream.abort(new Error('unexpected control stream'))
      return
    }
    const signal = AbortSignal.timeout(this.config.helloTimeoutMs)
    listenerHandshake({ stream, local: this.localHello(), check: (hello) => this.check(hello, conn, undefined), signal })
      .then((result) => {
        clearTimeout(pending.timer)
        this.pending.delete(conn.id)
        const session = this.established(conn, result)
        pending.resolve(session)
      })
      .catch((err: unknown) => {
        clearTimeout(pending.timer)
        this.pending.delete(conn.id)
        pending.resolve(undefined)
        this.handshakeFailed(err, 'inbound', conn)
      })
  }

  private handshakeFailed(err: unknown, direction: 'inbound' | 'outbound', conn: Connection): void {
    if (err instanceof ConnectionRejectedError) {
      this.rejected(err, direction, conn)
      this.closeAfterReject(conn)
    } else {
      const reason = err instanceof ProtocolError ? err.reason : 'hello-timeout'
      const wrapped = new ConnectionRejectedError(reason === 'hello-timeout' ? 'hello-timeout' : 'malformed-hello', (err as Error)?.message ?? String(err), undefined, { cause: err })
      this.rejected(wrapped, direction, conn)
      conn.abort(wrapped)
    }
  }

  private check(hello: Hello, conn: Connection, expectedId: string | undefined) {
    const tlsPublicKey = publicKeyOf(conn.remotePeer)
    if (tlsPublicKey === undefined) throw new ConnectionRejectedError('impostor', 'the peer did not prove an Ed25519 key', hello.id)
    return checkHello(hello, { localId: this.id, group: this.init.group, tlsPublicKey, ...(expectedId !== undefined ? { expectedId } : {}) })
  }

  private established(conn: Connection, result: HandshakeResult): Session | undefined {
    if (!this.running || conn.status !== 'open') {
      conn.abort(new Error('closed during the hello'))
      return undefined
    }
    const peer = this.peerFor(result.remote.id)
    const session = new Session(conn, result.local, result.remote, result.control, this.config, {
      onClosed: (s, reason, error) => {
        this.sessionsByConn.delete(s.id)
        peer.onSessionClosed(s, reason, error)
        if (error instanceof ProtocolError) this.safeEmit('connection:protocol-error', { peerId: peer.id, connection: refOf(s, this.id), error })
        this.changed()
      },
      onGoAway: (s, reason) => peer.onGoAway(s, reason),
      onRtt: () => this.changed(),
    }, this.log)
    this.sessionsByConn.set(conn.id, session)
    session.track(result.control.stream)
    session.start(result.leftover)
    if (session.state === 'closed') return undefined
    peer.onEstablished(session)
    this.changed()
    return session
  }

  // ---- dialing --------------------------------------------------------------

  private async dialPeer(peer: Peer, attempt: number, signal: AbortSignal): Promise<void> {
    // an inbound connection from this peer may be in its hello right now: wait for it instead
    const inbound = [...this.pending.values()].filter((p) => peer.publicKey !== undefined && p.conn.remotePeer.equals(peerIdOf(peer.publicKey)))
    if (inbound.length > 0) {
      const sessions = await Promise.all(inbound.map((p) => p.established))
      if (sessions.some((s) => s !== undefined && s.state === 'active')) return
    }
    if (peer.active !== undefined) return
    await this.dialAddresses(peer.addresses, peer.id, peer.publicKey, attempt, signal)
  }

  private async dialAddresses(addresses: HostPort[], expectedId: string | undefined, publicKey: Uint8Array | undefined, attempt: number, signal: AbortSignal): Promise<Session> {
    const node = this.assertRunning('dial')
    let lastError: Error = new Error('no address to dial')
    for (const address of addresses) {
      signal.throwIfAborted()
      this.safeEmit('peer:dialing', { ...(expectedId !== undefined ? { peerId: expectedId } : {}), address, attempt })
      const attemptSignal = AbortSignal.any([signal, AbortSignal.timeout(this.config.dialTimeoutMs)])
      let conn: Connection
      try {
        conn = await node.dial(toMultiaddr(address, publicKey !== undefined ? peerIdOf(publicKey) : undefined), { signal: attemptSignal, force: true })
      } catch (err) {
        lastError = err as Error
        this.safeEmit('peer:dial-failed', { ...(expectedId !== undefined ? { peerId: expectedId } : {}), address, attempt, error: lastError })
        continue
      }
      const known = this.sessionsByConn.get(conn.id)
      if (known !== undefined) return known
      const establishing = (async () => {
        const stream = await conn.newStream(CONTROL_PROTOCOL, { signal: attemptSignal })
        const result = await dialerHandshake({ stream, local: this.localHello(), check: (hello) => this.check(hello, conn, expectedId), signal: attemptSignal })
        const session = this.established(conn, result)
        if (session === undefined) throw new ConnectionRejectedError('hello-timeout', 'the connection closed during the hello')
        return session
      })()
      this.outboundEstablishing.set(
        conn.id,
        establishing.catch(() => undefined),
      )
      try {
        return await establishing
      } catch (err) {
        this.handshakeFailed(err, 'outbound', conn)
        if (err instanceof ConnectionRejectedError) throw err
        lastError = err as Error
      } finally {
        this.outboundEstablishing.delete(conn.id)
      }
    }
    throw lastError
  }

  // ---- channel streams ------------------------------------------------------

  private onChannelStream(stream: Stream, conn: Connection): void {
    const decoder = channelDecoder(this.config.maxMessageBytes)
    const early: Frame[] = []
    let failed: Error | undefined
    const framed = new FramedStream(stream, decoder, {
      onFrame: (frame) => early.push(frame),
      onEnd: () => {},
      onError: (err) => {
        failed = err
      },
    })
    const sessionReady =
      this.sessionsByConn.get(conn.id) ?? this.pending.get(conn.id)?.established ?? this.outboundEstablishing.get(conn.id) ?? Promise.resolve(undefined)
    void Promise.resolve(sessionReady).then((session) => {
      if (session === undefined || session.state === 'closed') {
        stream.abort(new Error('no meshkit session on this connection'))
        return
      }
      session.track(stream)
      if (failed !== undefined) {
        session.protocolError(failed as ProtocolError)
        return
      }
      const route = (open: Frame, rest: Frame[]): void => {
        if (open.type !== FrameType.Open) {
          session.protocolError(new UnknownFrameTypeError(open.type, 'a channel stream before OPEN'))
          return
        }
        let channel: string
        try {
          channel = new TextDecoder('utf-8', { fatal: true }).decode(open.payload)
          assertChannelName(channel, true)
        } catch (err) {
          session.protocolError(new MalformedFrameError(`OPEN names no valid channel: ${(err as Error).message}`))
          return
        }
        const peer = this.peerMap.get(session.peerId)
        if (peer === undefined) {
          stream.abort(new Error('unknown peer'))
          return
        }
        peer.inboundStream(session, framed, open, rest, channel, this.config.windowBytes)
      }
      const first = early.shift()
      if (first !== undefined) {
        route(first, early.splice(0))
        return
      }
      framed.setHandlers({
        onFrame: (frame) => route(frame, []),
        onEnd: () => {},
        onError: (err) => session.protocolError(err as ProtocolError),
      })
    })
  }
}
