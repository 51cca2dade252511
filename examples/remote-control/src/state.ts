/**
 * What a follower does with what arrives: accept only commands of the current
 * leader (fencing by term), and apply them to its state map. Pure.
 */
import { decodeCommand, type Command, type State } from './commands.js'

/**
 * The state after a command (a new object; `ping` changes nothing, a
 * `snapshot` replaces everything).
 */
export function applyCommand(state: State, command: Command): State {
  switch (command.op) {
    case 'set':
      return { ...state, [command.key]: command.value }
    case 'del': {
      if (!Object.hasOwn(state, command.key)) return state
      const next = { ...state }
      delete next[command.key]
      return next
    }
    case 'clear':
      return {}
    case 'ping':
      return state
    case 'snapshot':
      return { ...command.state }
  }
}

/** A message of the control channel as the mesh delivers it. */
export interface Incoming {
  from: string
  payload: unknown
  /** The sender's leader term: present only on messages sent with `asLeader`. */
  term?: number
}

export type Verdict =
  | { action: 'apply'; command: Command; term: number }
  /** `stale`: a term this device has moved past, or not from the leader of the current term (a deposed leader). */
  | { action: 'ignore'; reason: 'stale' | 'not-from-leader' | 'malformed'; term?: number; command?: Command }

/**
 * Whether to obey a control message. `accepts` is the mesh's fencing check
 * (`mesh.acceptsTerm(term, from)`): the term is the current one (or newer) and,
 * at the current term, `from` is the leader this device voted for.
 */
export function judge(message: Incoming, accepts: (term: number, from: string) => boolean): Verdict {
  const command = decodeCommand(message.payload)
  if (command === undefined) return { action: 'ignore', reason: 'malformed', ...(message.term !== undefined ? { term: message.term } : {}) }
  // a command without a term was not sent as leader: nobody is obliged to obey it
  if (message.term === undefined) return { action: 'ignore', reason: 'not-from-leader', command }
  if (!accepts(message.term, message.from)) return { action: 'ignore', reason: 'stale', term: message.term, command }
  return { action: 'apply', command, term: message.term }
}

/** The state as one line: `a=1 b=two`, keys sorted; `(empty)` when there are none. */
export function formatState(state: State): string {
  const keys = Object.keys(state).sort()
  return keys.length === 0 ? '(empty)' : keys.map((k) => `${k}=${state[k]}`).join(' ')
}

/** Peers that became ready or stopped being ready between two views of the mesh. */
export function diffReady(previous: ReadonlySet<string>, peers: Iterable<{ id: string; state: string }>): { joined: string[]; left: string[]; ready: Set<string> } {
  const ready = new Set<string>()
  for (const p of peers) if (p.state === 'ready') ready.add(p.id)
  return { joined: [...ready].filter((id) => !previous.has(id)), left: [...previous].filter((id) => !ready.has(id)), ready }
}
