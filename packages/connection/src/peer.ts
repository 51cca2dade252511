/**
 * Everything this device knows about one remote device: where it listens, its
 * connections (exactly one active), the duplicate decisions, its channels, and
 * the dialing schedule (dialing rule, grace period, capped jittered backoff).
 */
import type { Logger } from '@meshkit/log'
import pRetry, { AbortError } from 'p-retry'
import { InboundChannel, type ChannelHandler, type ChannelMessage } from './channel-in.js'
import { OutboundChannel } from './channel-out.js'
import type { Frame } from './codec.js'
import { ConnectionRejectedError, PeerNotConnectedError } from './errors.js'
import type { ConnectionRef, PeerConnectionState, PeerInfo, PeerStats } from './events.js'
import type { FramedStream } from './framed-stream.js'
import type { HostPort } from './libp2p-node.js'
import type { CloseReason } from './reasons.js'
import { decideDuplicate, dialPlan, type ConnectionCandidate, type DuplicateRule } from './rules.js'
import type { Session } from './session.js'

/** Reasons after which redialing the same peer is pointless until something changes. */
const PERMANENT_REJECTIONS = new Set(['wrong-group', 'bad-credential', 'impostor', 'version-unsupported', 'self', 'unexpected-peer'])

export interface PeerContext {
  readonly localId: string
  readonly config: {
    dialGraceMs: number
    reconnectMinMs: number
    reconnectMaxMs: number
    maxMessageBytes: number
    maxQueuedBytes: number
  }
  readonly log: Logger
  running: () => boolean
  /** Aborts when the layer stops. */
  stopSignal: () => AbortSignal
  /** Dials the peer once over its addresses and completes the hello; resolves when a session is established. */
  dial: (peer: Peer, attempt: number, signal: AbortSignal) => Promise<void>
  handlerFor: (channel: string) => ChannelHandler | undefined
  emit: {
    connected: (peer: Peer, session: Session, reconnect: boolean) => void
    disconnected: (peer: Peer, session: Session, reason: CloseReason, error?: Error) => void
    duplicate: (peer: Peer, kept: Session, closed: Session, reason: 'duplicate' | 'restart', rule: DuplicateRule) => void
    handlerError: (error: unknown, message: ChannelMessage) => void
    changed: () => void
  }
}

export function refOf(session: Session, localId: string): ConnectionRef {
  const outbound = session.direction === 'outbound'
  const dialerNonce = outbound ? session.local.nonce : session.remote.nonce
  const listenerNonce = outbound ? session.remote.nonce : session.local.nonce
  return {
    id: session.id,
    key: Buffer.from(dialerNonce).toString('hex') + Buffer.from(listenerNonce).toString('hex'),
    direction: session.direction,
    dialerId: session.direction === 'outbound' ? localId : session.peerId,
  }
}

export class Peer {
  addresses: HostPort[] = []
  publicKey: Uint8Array | undefined
  wanted = false
  active: Session | undefined
  readonly sessions = new Set<Session>()
  lastReason: CloseReason | undefined
  rejected = false
  private remoteEpoch: string | undefined
  private outbound = new Map<string, OutboundChannel>()
  private inbound = new Map<string, InboundChannel>()
  private dialController: AbortController | undefined
  private graceTimer: ReturnType<typeof setTimeout> | undefined
  private everConnected = false
  private sent = { messages: 0, bytes: 0 }
  private received = { messages: 0, bytes: 0 }
  streamsOpened = 0
  reconnects = 0

  constructor(
    readonly id: string,
    private readonly ctx: PeerContext,
  ) {}

  get state(): PeerConnectionState {
    if (this.active !== undefined) return 'connected'
    if (this.rejected) return 'rejected'
    if (this.dialController !== undefined) return 'dialing'
    if (this.everConnected) return 'disconnected'
    return 'waiting'
  }

  info(): PeerInfo {
    return {
      id: this.id,
      state: this.state,
      wanted: this.wanted,
      addresses: this.addresses,
      ...(this.active !== undefined ? { connection: refOf(this.active, this.ctx.localId), rttMs: this.active.rttMs } : {}),
      ...(this.lastReason !== undefined ? { lastReason: this.lastReason } : {}),
    }
  }

  stats(): PeerStats {
    let { messages: messagesSent, bytes: bytesSent } = this.sent
    let { messages: messagesReceived, bytes: bytesReceived } = this.received
    for (const ch of this.outbound.values()) {
      messagesSent += ch.messagesSent
      bytesSent += ch.bytesSent
    }
    for (const ch of this.inbound.values()) {
      messagesReceived += ch.messagesReceived
      bytesReceived += ch.bytesReceived
    }
    return {
      peerId: this.id,
      state: this.state,
      rttMs: this.active?.rttMs,
      messagesSent,
      messagesReceived,
      bytesSent,
      bytesReceived,
      streamsOpened: this.streamsOpened,
      reconnects: this.reconnects,
      connections: this.sessions.size,
    }
  }

  // ---- connections ----------------------------------------------------------

  /** A connection to this peer completed its hello. */
  onEstablished(session: Session): void {
    this.sessions.add(session)
    this.rejected = false
    this.stopDialing()
    const active = this.active
    if (active === undefined || active.state !== 'active') {
      this.activate(session)
      return
    }
    const decision = decideDuplicate(this.candidate(active), this.candidate(session), this.ctx.localId, this.id)
    const [keep, lose] = decision.keep === 'a' ? [active, session] : [session, active]
    this.ctx.log('duplicate connection to %s: keep %s, close %s (%s, %s)', this.id, keep.id, lose.id, decision.reason, decision.rule)
    this.ctx.emit.duplicate(this, keep, lose, decision.reason, decision.rule)
    if (decision.reason === 'restart') {
      // the peer restarted: the stale connection goes at once, with its channel state
      this.deactivate(lose, 'restart')
      lose.close('restart')
      this.activate(keep)
      return
    }
    if (keep === session) {
      // swap under a live peer: channels move to the winner, nothing is lost
      this.active = keep
      for (const ch of this.outbound.values()) ch.attach(keep)
      this.ctx.emit.changed()
    }
    void lose.drain('duplicate')
  }

  private candidate(session: Session): ConnectionCandidate {
    const outbound = session.direction === 'outbound'
    return {
      dialerId: outbound ? this.ctx.localId : this.id,
      dialerNonce: outbound ? session.local.nonce : session.remote.nonce,
      listenerNonce: outbound ? session.remote.nonce : session.local.nonce,
      remoteEpoch: session.remote.epoch,
      establishedSeq: session.establishedSeq,
    }
  }

  private activate(session: Session): void {
    const epoch = Buffer.from(session.remote.epoch).toString('hex')
    if (this.remoteEpoch !== undefined && this.remoteEpoch !== epoch) this.resetChannels()
    this.remoteEpoch = epoch
    this.active = session
    this.publicKey = session.remote.decodedCredential.publicKey
    this.lastReason = undefined
    const reconnect = this.everConnected
    if (reconnect) this.reconnects++
    this.everConnected = true
    for (const ch of this.outbound.values()) ch.attach(session)
    this.ctx.emit.changed() // first: listeners of peer:connected see it in connectedPeers()
    this.ctx.emit.connected(this, session, reconnect)
  }

  /** The peer restarted: its old channel sequences are meaningless now. */
  private resetChannels(): void {
    for (const ch of this.outbound.values()) {
      ch.detach('restart')
      this.sent.messages += ch.messagesSent
      this.sent.bytes += ch.bytesSent
    }
    this.outbound.clear()
    const previous = this.inbound
    this.inbound = new Map()
    for (const [name, ch] of previous) {
      this.received.messages += ch.messagesReceived
      this.received.bytes += ch.bytesReceived
      // messages already received from the old process are still delivered, before the new ones
      if (ch.backlog > 0) this.inbound.set(name, this.newInbound(name, ch))
    }
  }

  /** The active connection stops being usable (closed, peer leaving). Emits `peer:disconnected` once. */
  private deactivate(session: Session, reason: CloseReason, error?: Error): void {
    if (this.active !== session) return
    this.active = undefined
    this.lastReason = reason
    for (const ch of this.outbound.values()) ch.detach(reason)
    this.ctx.emit.changed()
    this.ctx.emit.disconnected(this, session, reason, error)
  }

  onSessionClosed(session: Session, reason: CloseReason, error?: Error): void {
    this.sessions.delete(session)
    if (this.active === session) {
      const survivor = [...this.sessions].find((s) => s.state === 'active')
      this.deactivate(session, reason, error)
      if (survivor !== undefined) this.activate(survivor)
    }
    for (const ch of this.inbound.values()) ch.kick()
    if (this.active === undefined) this.schedule(reason)
  }

  onGoAway(session: Session, reason: CloseReason): void {
    if (reason === 'duplicate') return // the peer drains a loser; our own decision follows when we see the winner
    this.deactivate(session, reason)
    void session.drain(reason)
  }

  // ---- channels -------------------------------------------------------------

  private newInbound(channel: string, previous?: InboundChannel): InboundChannel {
    return new InboundChannel(
      this.id,
      channel,
      (name) => (previous !== undefined && previous.backlog > 0 ? undefined : this.ctx.handlerFor(name)),
      () => [...this.sessions].filter((s) => s.state !== 'closed').length,
      this.ctx.emit.handlerError,
      this.ctx.log,
    )
  }

  inboundStream(session: Session, framed: FramedStream, open: Frame, leftover: Frame[], channel: string, window: number): void {
    let ch = this.inbound.get(channel)
    if (ch === undefined) {
      ch = this.newInbound(channel)
      this.inbound.set(channel, ch)
    }
    ch.addStream(session, framed, open, leftover, window)
  }

  /** A handler was registered: deliver what waited for it. */
  kick(channel: string): void {
    this.inbound.get(channel)?.kick()
  }

  /** Writes at once if possible (connected, channel open, credit); false otherwise. */
  trySend(channel: string, payload: Uint8Array): boolean {
    if (this.active === undefined || this.active.state !== 'active') return false
    return this.outbound.get(channel)?.trySend(payload) ?? false
  }

  send(channel: string, payload: Uint8Array, signal?: AbortSignal, ifReady = false): Promise<void> {
    if (this.active === undefined || this.active.state !== 'active') return Promise.reject(new PeerNotConnectedError(this.id))
    let ch = this.outbound.get(channel)
    if (ch === undefined) {
      ch = new OutboundChannel(this.id, channel, this.ctx.config, () => this.streamsOpened++, this.ctx.log)
      ch.attach(this.active)
      this.outbound.set(channel, ch)
    }
    return ch.send(payload, signal, ifReady)
  }

  // ---- dialing --------------------------------------------------------------

  /** Decides what to do about a peer that is wanted and not connected. */
  schedule(after?: CloseReason): void {
    if (!this.wanted || this.active !== undefined || this.dialController !== undefined || this.graceTimer !== undefined) return
    if (!this.ctx.running()) return
    if (this.sessions.size > 0) return // a connection is still draining; its close reschedules
    const plan = dialPlan(this.ctx.localId, this.id, Date.now(), this.ctx.config.dialGraceMs)
    if (plan.action === 'dial-now' && after !== 'peer-shutdown') {
      this.startDialing()
    } else {
      const delay = plan.action === 'dial-at' ? plan.at - Date.now() : this.ctx.config.reconnectMinMs
      this.graceTimer = setTimeout(() => {
        this.graceTimer = undefined
        this.startDialing()
      }, delay)
    }
    this.ctx.emit.changed()
  }

  private startDialing(): void {
    if (!this.wanted || this.active !== undefined || this.dialController !== undefined || !this.ctx.running()) return
    const controller = new AbortController()
    this.dialController = controller
    this.ctx.emit.changed()
    pRetry(
      async (attempt) => {
        if (this.active !== undefined) return
        try {
          // An attempt under way is not aborted when the peer connects some other
          // way: cutting a handshake short would make the other side report a
          // failed hello. It completes and the duplicate rule keeps one.
          await this.ctx.dial(this, attempt, this.ctx.stopSignal())
        } catch (err) {
          if (err instanceof ConnectionRejectedError && PERMANENT_REJECTIONS.has(err.reason)) {
            this.rejected = true
            throw new AbortError(err)
          }
          // p-retry does not retry TypeErrors: wrap whatever the transport threw
          throw err instanceof TypeError ? new Error(err.message, { cause: err }) : err
        }
      },
      {
        retries: Infinity,
        factor: 2,
        minTimeout: this.ctx.config.reconnectMinMs,
        maxTimeout: this.ctx.config.reconnectMaxMs,
        randomize: true,
        signal: controller.signal,
      },
    )
      .catch((err: unknown) => {
        if (!controller.signal.aborted) this.ctx.log('stopped dialing %s: %s', this.id, (err as Error).message)
      })
      .finally(() => {
        if (this.dialController === controller) {
          this.dialController = undefined
          this.ctx.emit.changed()
        }
      })
  }

  /**
   * New addresses for the peer. If it moved (a restart on another port) while
   * we were retrying the old address with growing backoff, dial the new one
   * now instead of after the next backoff.
   */
  setAddresses(addresses: HostPort[]): void {
    const key = (list: HostPort[]): string => list.map((a) => `${a.host}:${a.port}`).join(',')
    const moved = key(addresses) !== key(this.addresses)
    this.addresses = addresses
    if (moved && this.active === undefined && this.dialController !== undefined) {
      this.dialController.abort(new Error('the peer moved to another address'))
      this.dialController = undefined
    }
  }

  stopDialing(): void {
    clearTimeout(this.graceTimer)
    this.graceTimer = undefined
    this.dialController?.abort(new Error('dial no longer needed'))
    this.dialController = undefined
  }

  /** Closes everything (layer stopping): graceful, bounded by the drain timeout. */
  async shutdown(): Promise<void> {
    this.wanted = false
    this.stopDialing()
    const sessions = [...this.sessions]
    const active = this.active
    if (active !== undefined) this.deactivate(active, 'shutdown')
    await Promise.all(sessions.map((s) => s.drain('shutdown')))
  }
}
