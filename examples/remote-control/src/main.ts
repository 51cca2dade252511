#!/usr/bin/env node
/**
 * Remote control over a meshkit mesh: the leader reads commands from its
 * stdin and sends them stamped with its term; followers apply the ones from
 * the current leader to a local state map and ignore stale ones; any follower
 * types /lead to take over.
 *
 *   node examples/remote-control/dist/main.js --secret S [--priority P] [--lan]
 *
 * The I/O lives here; parsing, state and fencing are in commands.ts and state.ts.
 */
import type { Mesh } from '@meshkit/mesh'
import { createInterface } from 'node:readline'
import { isUserError, parseRemoteArgs, USAGE, UsageError, type RemoteConfig } from './args.js'
import { CONTROL_CHANNEL, parseLine, PONG_CHANNEL, type Command, type State } from './commands.js'
import { render, type RemoteEvent } from './events.js'
import { applyCommand, diffReady, judge } from './state.js'

let config: RemoteConfig
try {
  config = parseRemoteArgs(process.argv.slice(2), process.env)
} catch (err) {
  if (!(err instanceof UsageError)) throw err
  process.stderr.write(`remote-control: ${err.message}\n(--help for usage)\n`)
  process.exit(2)
}
if (config.help) {
  process.stdout.write(`${USAGE}\n`)
  process.exit(0)
}

const emit = (e: RemoteEvent): void => {
  if (config.json) process.stdout.write(`${JSON.stringify({ ...e, t: Date.now() })}\n`)
  else process.stdout.write(`${render(e)}\n`)
}

// the mesh (and libp2p under it) loads only once the command line is known good:
// a usage error is reported at once
const { createMesh, NotLeaderError } = await import('@meshkit/mesh')
let mesh: Mesh
try {
  mesh = await createMesh({
    app: 'meshkit-remote',
    group: { secret: config.secret },
    storage: 'memory',
    // confined to loopback unless --lan: nothing leaves the machine by default
    loopbackOnly: !config.lan,
    ...(config.mdnsPort !== undefined ? { mdns: { mdnsPort: config.mdnsPort } } : {}),
    ...(config.priority !== undefined ? { election: { priority: config.priority } } : {}),
    channels: { [CONTROL_CHANNEL]: { reliable: true } },
  })
} catch (err) {
  const hint = (err as Error).name === 'InvalidGroupSecretError' ? '\n(`node packages/cli/dist/bin.js secret` prints a good one)' : ''
  process.stderr.write(`remote-control: could not join the mesh: ${(err as Error).message}${hint}\n`)
  process.exit(isUserError(err) ? 2 : 1)
}
const m = mesh

let state: State = {}
let ready = new Set<string>()
let pings = 0
const leads = (): boolean => m.leader.role === 'leader'

m.on('error', (err) => emit({ ev: 'error', message: `${err.name}: ${err.message}` }))
emit({ ev: 'started', id: m.id, priority: config.priority ?? 0, loopbackOnly: !config.lan })

// Every message of the control channel, judged here (not with messages$'s
// currentLeaderOnly option, which drops stale ones silently) so that ignored
// commands can be shown.
m.messages$(CONTROL_CHANNEL).subscribe((message) => {
  const verdict = judge(message, (term, from) => m.acceptsTerm(term, from))
  if (verdict.action === 'ignore') {
    emit({ ev: 'ignored', from: message.from, ...(verdict.term !== undefined ? { term: verdict.term } : {}), currentTerm: m.leader.term, reason: verdict.reason, ...(verdict.command !== undefined ? { command: verdict.command } : {}) })
    return
  }
  state = applyCommand(state, verdict.command)
  emit({ ev: 'applied', from: message.from, term: verdict.term, command: verdict.command, state })
  if (verdict.command.op === 'ping') m.send(message.from, PONG_CHANNEL, { seq: verdict.command.seq }).catch((err: unknown) => emit({ ev: 'error', message: `pong: ${(err as Error).message}` }))
})

m.messages$(PONG_CHANNEL).subscribe(({ from, payload }) => {
  const seq = (payload as { seq?: unknown } | null)?.seq
  emit({ ev: 'pong', from, seq: typeof seq === 'number' ? seq : 0 })
})

m.peers$.subscribe((peers) => {
  const diff = diffReady(ready, peers.values())
  ready = diff.ready
  for (const id of diff.joined) {
    emit({ ev: 'peer', id, state: 'joined' })
    // the leader brings a newcomer up to date
    if (leads()) m.send(id, CONTROL_CHANNEL, { op: 'snapshot', state }, { asLeader: true }).catch((err: unknown) => emit({ ev: 'error', message: `snapshot to ${id}: ${(err as Error).message}` }))
  }
  for (const id of diff.left) emit({ ev: 'peer', id, state: 'left' })
})

m.leader$.subscribe((l) => emit({ ev: 'leader', ...(l.id !== undefined ? { id: l.id } : {}), term: l.term, role: l.role }))

async function command(c: Command): Promise<void> {
  if (!leads()) {
    emit({ ev: 'rejected', command: c, reason: 'not-leader', ...(m.leader.id !== undefined ? { leader: m.leader.id } : {}) })
    return
  }
  const term = m.leader.term
  let report
  try {
    report = await m.broadcast(CONTROL_CHANNEL, c, { asLeader: true })
  } catch (err) {
    // lost the lead between the check and the send
    if (err instanceof NotLeaderError) return emit({ ev: 'rejected', command: c, reason: 'not-leader', ...(m.leader.id !== undefined ? { leader: m.leader.id } : {}) })
    throw err
  }
  state = applyCommand(state, c)
  emit({ ev: 'sent', command: c, term, delivered: report.delivered.length, failed: report.failed.length, state })
}

let quitting = false
async function quit(code = 0): Promise<void> {
  if (quitting) return
  quitting = true
  await m.stop().catch(() => {})
  emit({ ev: 'stopped' })
  process.exit(code)
}

async function onLine(line: string): Promise<void> {
  const input = parseLine(line, pings + 1)
  switch (input.kind) {
    case 'empty':
      return
    case 'invalid':
      emit({ ev: 'error', message: input.message })
      return
    case 'command':
      if (input.command.op === 'ping') pings++
      return command(input.command)
    case 'local':
      switch (input.command) {
        case 'lead':
          try {
            const view = await m.becomeLeader()
            emit({ ev: 'lead', ok: true, term: view.term })
          } catch (err) {
            emit({ ev: 'lead', ok: false, error: (err as Error).message })
          }
          return
        case 'stepdown':
          try {
            const view = await m.stepDown()
            emit({ ev: 'stepdown', ok: true, ...(view.id !== undefined ? { leader: view.id } : {}) })
          } catch (err) {
            emit({ ev: 'stepdown', ok: false, error: (err as Error).message })
          }
          return
        case 'state':
          emit({ ev: 'state', state, role: m.leader.role, term: m.leader.term })
          return
        case 'peers': {
          const leader = m.leader.id
          emit({ ev: 'peers', peers: m.peers().map((p) => ({ id: p.id, state: p.state, leader: p.id === leader, ...(p.rttMs !== undefined ? { rttMs: p.rttMs } : {}) })) })
          return
        }
        case 'help':
          emit({ ev: 'help' })
          return
        case 'quit':
          return quit()
      }
  }
}

// typed lines are handled in order: the followers see the commands in the order they were typed
let queue = Promise.resolve()
createInterface({ input: process.stdin })
  .on('line', (line) => {
    queue = queue.then(() => onLine(line)).catch((err: unknown) => emit({ ev: 'error', message: (err as Error).message }))
  })
  .on('close', () => void queue.then(() => quit()))
process.on('SIGINT', () => void quit())
process.on('SIGTERM', () => void quit())
