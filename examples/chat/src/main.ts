#!/usr/bin/env node
/**
 * A terminal chat over a meshkit mesh: every line typed is broadcast on a
 * reliable channel and shown by everyone else as `name: text`.
 *
 *   node examples/chat/dist/main.js --name alice --secret S      (this machine only)
 *   node examples/chat/dist/main.js --name alice --secret S --lan (the real network)
 *
 * The I/O lives here; what lines mean and how events look is in chat.ts.
 */
import type { Mesh } from '@meshkit/mesh'
import { createInterface } from 'node:readline'
import { isUserError, parseChatArgs, USAGE, UsageError, type ChatConfig } from './args.js'
import { CHAT_CHANNEL, decodeChat, decodeHello, diffReady, HELLO_CHANNEL, parseInput, render, type ChatEvent, type PeerRow } from './chat.js'

let config: ChatConfig
try {
  config = parseChatArgs(process.argv.slice(2), process.env)
} catch (err) {
  if (!(err instanceof UsageError)) throw err
  process.stderr.write(`chat: ${err.message}\n(--help for usage)\n`)
  process.exit(2)
}
if (config.help) {
  process.stdout.write(`${USAGE}\n`)
  process.exit(0)
}

const emit = (e: ChatEvent): void => {
  if (config.json) {
    process.stdout.write(`${JSON.stringify({ ...e, t: Date.now() })}\n`)
    return
  }
  const text = render(e)
  if (text !== '') process.stdout.write(`${text}\n`)
}

// the mesh (and libp2p under it) loads only once the command line is known good:
// a usage error is reported at once
const { createMesh } = await import('@meshkit/mesh')
let mesh: Mesh
try {
  mesh = await createMesh({
    app: 'meshkit-chat',
    group: { secret: config.secret },
    storage: 'memory',
    // confined to loopback unless --lan: nothing leaves the machine by default
    loopbackOnly: !config.lan,
    ...(config.mdnsPort !== undefined ? { mdns: { mdnsPort: config.mdnsPort } } : {}),
    channels: { [CHAT_CHANNEL]: { reliable: true }, [HELLO_CHANNEL]: { reliable: true } },
  })
} catch (err) {
  const hint = (err as Error).name === 'InvalidGroupSecretError' ? '\n(`node packages/cli/dist/bin.js secret` prints a good one)' : ''
  process.stderr.write(`chat: could not join the mesh: ${(err as Error).message}${hint}\n`)
  process.exit(isUserError(err) ? 2 : 1)
}
const m = mesh

/** Names learned from hellos (and chat lines). */
const names = new Map<string, string>()
let ready = new Set<string>()
/** Peers whose "joined" was shown (and not yet their "left"). */
const announced = new Set<string>()

m.on('error', (err) => emit({ ev: 'error', message: `${err.name}: ${err.message}` }))
emit({ ev: 'started', id: m.id, name: config.name, loopbackOnly: !config.lan })

m.messages$(HELLO_CHANNEL).subscribe(({ from, payload }) => {
  const name = decodeHello(payload)
  if (name === undefined) return
  names.set(from, name)
  if (announced.has(from)) return
  announced.add(from)
  emit({ ev: 'joined', id: from, name })
})

m.messages$(CHAT_CHANNEL).subscribe(({ from, payload }) => {
  const chat = decodeChat(payload)
  if (chat === undefined) return emit({ ev: 'error', message: `ignored a malformed chat message from ${from}` })
  names.set(from, chat.name)
  emit({ ev: 'chat', from, name: chat.name, text: chat.text })
})

m.peers$.subscribe((peers) => {
  const diff = diffReady(ready, peers.values())
  ready = diff.ready
  // each side introduces itself to every peer that becomes ready; the peer prints "joined" on it
  for (const id of diff.joined) m.send(id, HELLO_CHANNEL, { name: config.name }).catch((err: unknown) => emit({ ev: 'error', message: `hello to ${id}: ${(err as Error).message}` }))
  for (const id of diff.left) {
    announced.delete(id)
    emit({ ev: 'left', id, ...(names.has(id) ? { name: names.get(id)! } : {}) })
  }
})

m.leader$.subscribe((l) => {
  const name = l.id === undefined ? undefined : l.id === m.id ? config.name : names.get(l.id)
  emit({ ev: 'leader', ...(l.id !== undefined ? { id: l.id } : {}), ...(name !== undefined ? { name } : {}), term: l.term, role: l.role })
})

let quitting = false
async function quit(code = 0): Promise<void> {
  if (quitting) return
  quitting = true
  await m.stop().catch(() => {})
  emit({ ev: 'stopped' })
  process.exit(code)
}

function peerRows(): PeerRow[] {
  const leader = m.leader.id
  return m.peers().map((p) => ({ id: p.id, ...(names.has(p.id) ? { name: names.get(p.id)! } : {}), state: p.state, leader: p.id === leader, ...(p.rttMs !== undefined ? { rttMs: p.rttMs } : {}) }))
}

async function onLine(line: string): Promise<void> {
  const input = parseInput(line)
  switch (input.kind) {
    case 'empty':
      return
    case 'say': {
      const report = await m.broadcast(CHAT_CHANNEL, { name: config.name, text: input.text })
      emit({ ev: 'sent', text: input.text, delivered: report.delivered.length, failed: report.failed.length })
      return
    }
    case 'peers':
      emit({ ev: 'peers', self: { id: m.id, name: config.name, leader: m.leader.role === 'leader' }, peers: peerRows() })
      return
    case 'lead':
      try {
        const view = await m.becomeLeader()
        emit({ ev: 'lead', ok: true, term: view.term })
      } catch (err) {
        emit({ ev: 'lead', ok: false, error: (err as Error).message })
      }
      return
    case 'quit':
      return quit()
    case 'help':
      emit({ ev: 'help' })
      return
    case 'unknown':
      emit({ ev: 'error', message: `unknown command ${input.command} (/help lists them)` })
      return
  }
}

// lines are handled one after another, so the chat keeps the order they were typed in
let queue = Promise.resolve()
createInterface({ input: process.stdin })
  .on('line', (line) => {
    queue = queue.then(() => onLine(line)).catch((err: unknown) => emit({ ev: 'error', message: (err as Error).message }))
  })
  .on('close', () => void queue.then(() => quit()))
process.on('SIGINT', () => void quit())
process.on('SIGTERM', () => void quit())
