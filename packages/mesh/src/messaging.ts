/**
 * Messaging on named channels over the connection layer: send, broadcast,
 * request/response, reliable delivery, leader terms, and delivery to the app
 * as rxjs observables or async iterables, in order per sender and channel.
 */
import { assertChannelName, WouldBlockError, type ChannelMessage, type ConnectionLayer } from '@meshkit/connection'
import { NotLeaderError as ElectionNotLeaderError, type Election } from '@meshkit/election'
import type { Logger } from '@meshkit/log'
import { Observable } from 'rxjs'
import { decodeBody, decodeEnvelope, encodeBody, encodeEnvelope, Kind, type Envelope } from './codec.js'
import { DEFAULT_REQUEST_TIMEOUT_MS, RELIABLE_ACK_DELAY_MS, RELIABLE_ACK_EVERY } from './constants.js'
import {
  MalformedEnvelopeError,
  NoResponderError,
  NotLeaderError,
  PeerNotReadyError,
  RemoteHandlerError,
  RequestInterruptedError,
  RequestTimeoutError,
} from './errors.js'
import type { BroadcastReport, MeshMessage } from './events.js'
import type { ChannelOptions, ResolvedOptions } from './options.js'
import { Inbox, Outbox } from './reliable.js'

export interface SendOptions {
  signal?: AbortSignal
  /** Stamp the leader's term (fencing): only the leader may; followers can drop stale terms. */
  asLeader?: boolean
}

export interface RequestOptions {
  timeoutMs?: number
  signal?: AbortSignal
}

export interface MessagesOptions {
  /** Only leader-originated messages whose term is current (fencing). */
  currentLeaderOnly?: boolean
}

export interface IteratorOptions extends MessagesOptions {
  /** Messages buffered for a slow reader before the senders are slowed down. Default 1024. */
  bufferSize?: number
  signal?: AbortSignal
}

/** Answers requests on a channel; its value (bytes or plain data) is the response. */
export type Responder = (payload: unknown, context: { from: string; channel: string }) => unknown

interface Iter {
  queue: MeshMessage[]
  max: number
  filter: (m: MeshMessage) => boolean
  wake: (() => void) | undefined
  room: Array<() => void>
}

interface ChannelState {
  name: string
  options: Required<ChannelOptions>
  /** Observable subscribers (a plain set: rxjs Subject.next copies its observer list per message). */
  listeners: Set<(m: MeshMessage) => void>
  /** Completes the observables when the mesh stops. */
  closers: Set<() => void>
  iterators: Set<Iter>
  backlog: MeshMessage[]
  backlogRoom: Array<() => void>
  responder: Responder | undefined
  unregister: () => void
  outboxes: Map<string, Outbox>
  inboxes: Map<string, { epoch: string; inbox: Inbox; timer: ReturnType<typeof setTimeout> | undefined }>
}

interface PendingRequest {
  peerId: string
  channel: string
  resolve: (value: unknown) => void
  reject: (err: Error) => void
  cleanup: () => void
}

export class Messaging {
  private readonly channels = new Map<string, ChannelState>()
  private readonly pending = new Map<string, PendingRequest>()
  private readonly epochs = new Map<string, string>()
  private requestIds = 0
  private readonly expiryTimer: ReturnType<typeof setInterval>
  private closed = false
  onMessage: (m: MeshMessage) => void = () => {}
  onExpired: (e: { peerId: string; channel: string; id: number }) => void = () => {}

  constructor(
    private readonly layer: ConnectionLayer,
    private readonly election: Election,
    private readonly opts: ResolvedOptions,
    private readonly reportError: (err: Error) => void,
    private readonly log: Logger,
  ) {
    layer.on('peer:connected', (e) => {
      const previous = this.epochs.get(e.peerId)
      this.epochs.set(e.peerId, e.epoch)
      if (previous !== undefined && previous !== e.epoch) this.log('%s restarted: reliable receive state reset', e.peerId)
      this.retransmit(e.peerId)
    })
    layer.on('peer:disconnected', (e) => {
      for (const [key, p] of this.pending) {
        if (p.peerId !== e.peerId) continue
        this.pending.delete(key)
        p.cleanup()
        p.reject(new RequestInterruptedError(p.peerId, p.channel))
      }
    })
    this.expiryTimer = setInterval(() => this.expire(), 1000)
    this.expiryTimer.unref()
    // every channel a peer uses becomes known on its first message: data waits in
    // the channel's backlog for a reader, requests get an answer (or 'no-responder')
    layer.handleUnknown((m) => {
      let state: ChannelState
      try {
        state = this.ensure(m.channel)
      } catch (err) {
        this.reportError(new MalformedEnvelopeError(m.peerId, m.channel, (err as Error).message))
        return
      }
      return this.onChannelMessage(state, m)
    })
  }

  // ---- channels -------------------------------------------------------------

  configure(name: string, options: ChannelOptions): void {
    const state = this.ensure(name)
    if (options.reliable !== undefined) state.options.reliable = options.reliable
    if (options.broadcast !== undefined) state.options.broadcast = options.broadcast
  }

  private ensure(name: string): ChannelState {
    let state = this.channels.get(name)
    if (state !== undefined) return state
    assertChannelName(name)
    const declared = this.opts.channels.get(name)
    state = {
      name,
      options: { reliable: declared?.reliable ?? false, broadcast: declared?.broadcast ?? 'wait' },
      listeners: new Set(),
      closers: new Set(),
      iterators: new Set(),
      backlog: [],
      backlogRoom: [],
      responder: undefined,
      unregister: () => {},
      outboxes: new Map(),
      inboxes: new Map(),
    }
    this.channels.set(name, state)
    const s = state
    state.unregister = this.layer.handle(name, (m) => this.onChannelMessage(s, m))
    return state
  }

  private malformed(m: ChannelMessage, detail: string): void {
    this.reportError(new MalformedEnvelopeError(m.peerId, m.channel, detail))
  }

  private onChannelMessage(state: ChannelState, m: ChannelMessage): void | Promise<void> {
    const e = decodeEnvelope(m.payload)
    if (typeof e === 'string') return this.malformed(m, e)
    switch (e.kind) {
      case Kind.Data:
        return this.deliverEnvelope(state, m, e)
      case Kind.Reliable:
        return this.onReliable(state, m, e)
      case Kind.Ack:
        state.outboxes.get(m.peerId)?.ack(e.id ?? 0)
        return
      case Kind.Request:
        this.onRequest(state, m, e)
        return
      case Kind.Response:
        this.onResponse(state, m, e)
        return
    }
  }

  private deliverEnvelope(state: ChannelState, m: ChannelMessage, e: Envelope): void | Promise<void> {
    let payload: unknown
    try {
      payload = decodeBody(e.body, e.msgpack)
    } catch (err) {
      return this.malformed(m, `undecodable body (${(err as Error).message})`)
    }
    return this.deliver(state, { from: m.peerId, channel: state.name, payload, ...(e.term !== undefined ? { term: e.term } : {}) })
  }

  /** Hands a message to the app; returns a promise while the app is not keeping up (backpressure). */
  private deliver(state: ChannelState, message: MeshMessage): void | Promise<void> {
    this.onMessage(message)
    if (state.listeners.size === 0 && state.iterators.size === 0) {
      state.backlog.push(message)
      if (state.backlog.length >= this.opts.backlogMessages) return new Promise((resolve) => state.backlogRoom.push(resolve))
      return
    }
    for (const fn of state.listeners) fn(message)
    let full: Promise<void> | undefined
    for (const it of state.iterators) {
      if (!it.filter(message)) continue
      it.queue.push(message)
      it.wake?.()
      if (it.queue.length >= it.max) full = new Promise((resolve) => it.room.push(resolve))
    }
    return full
  }

  /** The first reader of a channel gets what arrived before it, in order. */
  private flushBacklog(state: ChannelState): void {
    const backlog = state.backlog.splice(0)
    for (const m of backlog) void this.deliverToReaders(state, m)
    for (const resolve of state.backlogRoom.splice(0)) resolve()
  }

  private deliverToReaders(state: ChannelState, message: MeshMessage): void {
    for (const fn of state.listeners) fn(message)
    for (const it of state.iterators) {
      if (!it.filter(message)) continue
      it.queue.push(message)
      it.wake?.()
    }
  }

  private filterFor(options: MessagesOptions): (m: MeshMessage) => boolean {
    if (options.currentLeaderOnly !== true) return () => true
    return (m) => m.term !== undefined && this.election.accepts(m.term, m.from)
  }

  messages$ = (channel: string, options: MessagesOptions = {}): Observable<MeshMessage> => {
    const state = this.ensure(channel)
    const keep = this.filterFor(options)
    const all = options.currentLeaderOnly !== true
    return new Observable<MeshMessage>((subscriber) => {
      const fn = all ? (m: MeshMessage): void => subscriber.next(m) : (m: MeshMessage): void => void (keep(m) && subscriber.next(m))
      state.listeners.add(fn)
      if (state.backlog.length > 0) this.flushBacklog(state)
      const onClose = (): void => subscriber.complete()
      state.closers.add(onClose)
      return () => {
        state.listeners.delete(fn)
        state.closers.delete(onClose)
      }
    })
  }

  messages = (channel: string, options: IteratorOptions = {}): AsyncIterable<MeshMessage> => {
    const state = this.ensure(channel)
    const keep = this.filterFor(options)
    const max = options.bufferSize ?? 1024
    return {
      [Symbol.asyncIterator]: (): AsyncIterator<MeshMessage> => {
        const it: Iter = { queue: [], max, filter: keep, wake: undefined, room: [] }
        state.iterators.add(it)
        if (state.backlog.length > 0) this.flushBacklog(state)
        const done = (): IteratorReturnResult<undefined> => {
          state.iterators.delete(it)
          for (const r of it.room.splice(0)) r()
          return { done: true, value: undefined }
        }
        return {
          next: async () => {
            for (;;) {
              if (this.closed || options.signal?.aborted === true) return done()
              const m = it.queue.shift()
              if (m !== undefined) {
                if (it.queue.length < it.max) for (const r of it.room.splice(0)) r()
                return { done: false, value: m }
              }
              await new Promise<void>((resolve) => {
                it.wake = resolve
                options.signal?.addEventListener('abort', () => resolve(), { once: true })
              })
              it.wake = undefined
            }
          },
          return: async () => done(),
        }
      },
    }
  }

  // ---- sending --------------------------------------------------------------

  private stamp(options: SendOptions): number | undefined {
    if (options.asLeader !== true) return undefined
    try {
      return this.election.stamp()
    } catch (err) {
      if (err instanceof ElectionNotLeaderError) throw new NotLeaderError()
      throw err
    }
  }

  async send(peerId: string, channel: string, payload: unknown, options: SendOptions = {}): Promise<void> {
    const state = this.ensure(channel)
    const term = this.stamp(options)
    const { body, msgpack } = encodeBody(payload)
    if (state.options.reliable) {
      await this.sendReliable(state, peerId, body, msgpack, term, options.signal)
      return
    }
    if (!this.layer.connectedPeers().includes(peerId)) throw new PeerNotReadyError(peerId)
    await this.layer.send(peerId, channel, encodeEnvelope({ kind: Kind.Data, body, msgpack, ...(term !== undefined ? { term } : {}) }), { ...(options.signal !== undefined ? { signal: options.signal } : {}) })
  }

  broadcast(channel: string, payload: unknown, options: SendOptions = {}): Promise<BroadcastReport> {
    // Not async: a broadcast is the hot path. Peers whose message can be written
    // at once cost no promise; only those that must wait (or fail) do.
    let state: ChannelState
    let term: number | undefined
    let encoded: { body: Uint8Array; msgpack: boolean }
    try {
      state = this.ensure(channel)
      term = this.stamp(options)
      encoded = encodeBody(payload)
    } catch (err) {
      return Promise.reject(err as Error)
    }
    const { body, msgpack } = encoded
    const report: BroadcastReport = { delivered: [], skipped: [], failed: [] }
    const connected = this.layer.connectedPeers()
    if (state.options.reliable) {
      // Every peer we have been connected to and still know, not only those
      // connected this instant: one that is reconnecting gets it from its outbox.
      const members = [...this.epochs.keys()].filter((id) => this.layer.peer(id) !== undefined)
      const targets = new Set([...connected, ...members, ...state.outboxes.keys()])
      return Promise.all(
        [...targets].map(async (peerId) => {
          try {
            await this.sendReliable(state, peerId, body, msgpack, term, options.signal, state.options.broadcast === 'skip')
            report.delivered.push(peerId)
          } catch (err) {
            report.failed.push({ peerId, error: err as Error })
          }
        }),
      ).then(() => report)
    }
    const bytes = encodeEnvelope({ kind: Kind.Data, body, msgpack, ...(term !== undefined ? { term } : {}) })
    const skip = state.options.broadcast === 'skip'
    let waits: Array<Promise<void>> | undefined
    for (const peerId of connected) {
      if (this.layer.trySend(peerId, channel, bytes)) {
        report.delivered.push(peerId)
        continue
      }
      const sending = this.layer.send(peerId, channel, bytes, { ifReady: skip, ...(options.signal !== undefined ? { signal: options.signal } : {}) }).then(
        () => void report.delivered.push(peerId),
        (err: unknown) => {
          if (err instanceof WouldBlockError) report.skipped.push(peerId)
          else report.failed.push({ peerId, error: err as Error })
        },
      )
      ;(waits ??= []).push(sending)
    }
    return waits === undefined ? Promise.resolve(report) : Promise.all(waits).then(() => report)
  }

  // ---- reliable -------------------------------------------------------------

  private outbox(state: ChannelState, peerId: string): Outbox {
    let box = state.outboxes.get(peerId)
    if (box === undefined) {
      box = new Outbox(peerId, state.name, this.opts.outbox)
      state.outboxes.set(peerId, box)
    }
    return box
  }

  private async sendReliable(state: ChannelState, peerId: string, body: Uint8Array, msgpack: boolean, term: number | undefined, signal?: AbortSignal, noWait = false): Promise<void> {
    const known = this.layer.peer(peerId) !== undefined || state.outboxes.has(peerId)
    if (!known) throw new PeerNotReadyError(peerId)
    const entry = this.outbox(state, peerId).add((id) => encodeEnvelope({ kind: Kind.Reliable, id, body, msgpack, ...(term !== undefined ? { term } : {}) }), Date.now())
    if (!this.layer.connectedPeers().includes(peerId)) return // kept; sent when the peer is back
    try {
      const sending = this.layer.send(peerId, state.name, entry.bytes, { ...(signal !== undefined ? { signal } : {}) })
      if (!noWait) await sending
      else sending.catch(() => {})
    } catch {
      // kept in the outbox: retransmitted after the reconnect
    }
  }

  /** A (re)connected peer gets every reliable message it has not acknowledged, oldest first. */
  private retransmit(peerId: string): void {
    for (const state of this.channels.values()) {
      const box = state.outboxes.get(peerId)
      if (box === undefined) continue
      for (const entry of box.pending()) this.layer.send(peerId, state.name, entry.bytes).catch(() => {})
    }
  }

  private onReliable(state: ChannelState, m: ChannelMessage, e: Envelope): void | Promise<void> {
    const epoch = this.epochs.get(m.peerId) ?? ''
    let slot = state.inboxes.get(m.peerId)
    if (slot === undefined || slot.epoch !== epoch) {
      // a new process of the peer: a new sequence (its old outbox died with it)
      if (slot?.timer !== undefined) clearTimeout(slot.timer)
      slot = { epoch, inbox: new Inbox(), timer: undefined }
      state.inboxes.set(m.peerId, slot)
    }
    const { inbox } = slot
    if (inbox.delivered === 0 && (e.id ?? 0) > 1 && inbox.unacked === 0 && slot.timer === undefined) {
      // joining a sequence already under way with a new session: start where the sender is
      inbox.delivered = (e.id ?? 1) - 1
    }
    let result: void | Promise<void> = undefined
    inbox.accept(e.id ?? 0, () => {
      const r = this.deliverEnvelope(state, m, e)
      if (r !== undefined) result = r
    })
    this.scheduleAck(state, m.peerId, slot)
    return result
  }

  private scheduleAck(state: ChannelState, peerId: string, slot: { inbox: Inbox; timer: ReturnType<typeof setTimeout> | undefined }): void {
    const send = (): void => {
      slot.timer = undefined
      slot.inbox.unacked = 0
      this.layer.send(peerId, state.name, encodeEnvelope({ kind: Kind.Ack, id: slot.inbox.delivered, body: new Uint8Array(0), msgpack: false })).catch(() => {})
    }
    if (slot.inbox.unacked >= RELIABLE_ACK_EVERY) {
      if (slot.timer !== undefined) clearTimeout(slot.timer)
      send()
    } else if (slot.timer === undefined && slot.inbox.unacked > 0) {
      slot.timer = setTimeout(send, RELIABLE_ACK_DELAY_MS)
    }
  }

  private expire(): void {
    const now = Date.now()
    for (const state of this.channels.values()) {
      for (const box of state.outboxes.values()) {
        for (const e of box.expire(now)) this.onExpired({ peerId: box.peerId, channel: state.name, id: e.id })
      }
    }
  }

  outboxSize(peerId: string): number {
    let n = 0
    for (const s of this.channels.values()) n += s.outboxes.get(peerId)?.size.messages ?? 0
    return n
  }

  // ---- request / response -----------------------------------------------------

  respond(channel: string, responder: Responder): () => void {
    const state = this.ensure(channel)
    state.responder = responder
    return () => {
      if (state.responder === responder) state.responder = undefined
    }
  }

  async request<T>(peerId: string, channel: string, payload: unknown, options: RequestOptions = {}): Promise<T> {
    const state = this.ensure(channel)
    if (!this.layer.connectedPeers().includes(peerId)) throw new PeerNotReadyError(peerId)
    const { body, msgpack } = encodeBody(payload)
    options.signal?.throwIfAborted()
    const id = ++this.requestIds
    const key = `${peerId}\u0000${channel}\u0000${id}`
    const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
    const answer = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(key)
        cleanup()
        reject(new RequestTimeoutError(peerId, channel, timeoutMs))
      }, timeoutMs)
      const onAbort = (): void => {
        this.pending.delete(key)
        cleanup()
        reject(options.signal?.reason as Error)
      }
      const cleanup = (): void => {
        clearTimeout(timer)
        options.signal?.removeEventListener('abort', onAbort)
      }
      options.signal?.addEventListener('abort', onAbort, { once: true })
      this.pending.set(key, { peerId, channel, resolve, reject, cleanup })
    })
    // The answer can be settled (connection lost, timeout, abort) while the
    // request is still being written, and then nobody awaits it: that must not
    // become an unhandled rejection. `await answer` below still sees it.
    answer.catch(() => {})
    try {
      await this.layer.send(peerId, state.name, encodeEnvelope({ kind: Kind.Request, id, body, msgpack }), { ...(options.signal !== undefined ? { signal: options.signal } : {}) })
    } catch (err) {
      const p = this.pending.get(key)
      this.pending.delete(key)
      p?.cleanup()
      throw err
    }
    return (await answer) as T
  }

  private onRequest(state: ChannelState, m: ChannelMessage, e: Envelope): void {
    const reply = (result: { body: Uint8Array; msgpack: boolean }, error = false): void => {
      this.layer.send(m.peerId, state.name, encodeEnvelope({ kind: Kind.Response, id: e.id ?? 0, error, ...result })).catch(() => {})
    }
    const fail = (code: string, message: string): void => reply(encodeBody({ code, message }), true)
    const responder = state.responder
    if (responder === undefined) return fail('no-responder', `no responder for ${state.name}`)
    let payload: unknown
    try {
      payload = decodeBody(e.body, e.msgpack)
    } catch (err) {
      return fail('bad-request', (err as Error).message)
    }
    void (async () => {
      try {
        reply(encodeBody(await responder(payload, { from: m.peerId, channel: state.name })))
      } catch (err) {
        fail('handler-error', err instanceof Error ? err.message : String(err))
      }
    })()
  }

  private onResponse(state: ChannelState, m: ChannelMessage, e: Envelope): void {
    const key = `${m.peerId}\u0000${state.name}\u0000${e.id ?? 0}`
    const p = this.pending.get(key)
    if (p === undefined) return // timed out or aborted meanwhile
    this.pending.delete(key)
    p.cleanup()
    let value: unknown
    try {
      value = decodeBody(e.body, e.msgpack)
    } catch (err) {
      p.reject(new MalformedEnvelopeError(m.peerId, state.name, (err as Error).message))
      return
    }
    if (e.error !== true) {
      p.resolve(value)
      return
    }
    const { code, message } = (value ?? {}) as { code?: string; message?: string }
    p.reject(code === 'no-responder' ? new NoResponderError(m.peerId, state.name) : new RemoteHandlerError(m.peerId, state.name, String(message ?? code)))
  }

  close(): void {
    this.closed = true
    this.layer.handleUnknown(undefined)
    clearInterval(this.expiryTimer)
    for (const p of this.pending.values()) {
      p.cleanup()
      p.reject(new RequestInterruptedError(p.peerId, p.channel))
    }
    this.pending.clear()
    for (const state of this.channels.values()) {
      state.unregister()
      for (const close of [...state.closers]) close()
      for (const slot of state.inboxes.values()) if (slot.timer !== undefined) clearTimeout(slot.timer)
      for (const it of state.iterators) it.wake?.()
      for (const r of state.backlogRoom.splice(0)) r()
    }
  }
}
