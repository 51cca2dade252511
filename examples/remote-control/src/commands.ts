/**
 * What a typed line means and what a command looks like on the wire. Pure.
 *
 * Commands (typed at the leader, applied by every follower):
 *   set KEY VALUE   sets a key (the value is the rest of the line)
 *   del KEY         removes a key
 *   clear           removes every key
 *   ping            every follower answers with a pong
 * Local commands (any node): /lead, /stepdown, /state, /peers, /quit, /help.
 */

/** The reliable channel the leader's commands travel on, stamped with its term. */
export const CONTROL_CHANNEL = 'control'
/** Followers answer a ping to the leader on this channel. */
export const PONG_CHANNEL = 'pong'

export const MAX_KEY = 64
export const MAX_VALUE = 1000
const KEY = /^[A-Za-z0-9_.:-]{1,64}$/

export type State = Readonly<Record<string, string>>

/** A command as sent by the leader. `snapshot` is sent by the leader to a peer that joins, with the whole state. */
export type Command =
  | { op: 'set'; key: string; value: string }
  | { op: 'del'; key: string }
  | { op: 'clear' }
  | { op: 'ping'; seq: number }
  | { op: 'snapshot'; state: State }

export type Local = 'lead' | 'stepdown' | 'state' | 'peers' | 'quit' | 'help'

export type Input =
  | { kind: 'command'; command: Command }
  | { kind: 'local'; command: Local }
  | { kind: 'empty' }
  | { kind: 'invalid'; message: string }

const LOCAL: Record<string, Local> = { '/lead': 'lead', '/stepdown': 'stepdown', '/state': 'state', '/peers': 'peers', '/quit': 'quit', '/exit': 'quit', '/help': 'help', '/?': 'help' }

/** A typed line. `seq` numbers pings. */
export function parseLine(line: string, seq = 0): Input {
  const trimmed = line.trim()
  if (trimmed === '') return { kind: 'empty' }
  const [word = '', ...rest] = trimmed.split(/\s+/)
  const verb = word.toLowerCase()
  if (verb.startsWith('/')) {
    const local = LOCAL[verb]
    return local !== undefined ? { kind: 'local', command: local } : { kind: 'invalid', message: `unknown command ${verb} (/help lists them)` }
  }
  switch (verb) {
    case 'set': {
      const key = rest[0]
      if (key === undefined || rest.length < 2) return { kind: 'invalid', message: 'usage: set KEY VALUE' }
      // the value is the rest of the line as typed (inner spaces kept)
      const value = trimmed.slice(trimmed.indexOf(key, word.length) + key.length).trim()
      return checked({ op: 'set', key, value })
    }
    case 'del':
    case 'delete':
      if (rest.length !== 1) return { kind: 'invalid', message: 'usage: del KEY' }
      return checked({ op: 'del', key: rest[0]! })
    case 'clear':
      return rest.length === 0 ? { kind: 'command', command: { op: 'clear' } } : { kind: 'invalid', message: 'usage: clear' }
    case 'ping':
      return rest.length === 0 ? { kind: 'command', command: { op: 'ping', seq } } : { kind: 'invalid', message: 'usage: ping' }
    default:
      return { kind: 'invalid', message: `unknown command "${word}": set KEY VALUE, del KEY, clear, ping, or /help` }
  }
}

function checked(command: Command): Input {
  const problem = invalidReason(command)
  return problem === undefined ? { kind: 'command', command } : { kind: 'invalid', message: problem }
}

function invalidReason(c: Command): string | undefined {
  if ((c.op === 'set' || c.op === 'del') && !KEY.test(c.key)) return `a key is 1-${MAX_KEY} letters, digits or _ . : -`
  // eslint-disable-next-line no-control-regex -- refusing control characters is the point
  if (c.op === 'set' && (c.value.length > MAX_VALUE || /[\u0000-\u001f\u007f]/.test(c.value))) return `a value is at most ${MAX_VALUE} printable characters`
  if (c.op === 'snapshot' && Object.entries(c.state).some(([k, v]) => !KEY.test(k) || typeof v !== 'string' || v.length > MAX_VALUE)) return 'bad snapshot'
  return undefined
}

/** A command as received: only well-formed commands pass (peers may run another version, or be buggy). */
export function decodeCommand(payload: unknown): Command | undefined {
  if (payload === null || typeof payload !== 'object') return undefined
  const p = payload as Record<string, unknown>
  let c: Command
  switch (p.op) {
    case 'set':
      if (typeof p.key !== 'string' || typeof p.value !== 'string') return undefined
      c = { op: 'set', key: p.key, value: p.value }
      break
    case 'del':
      if (typeof p.key !== 'string') return undefined
      c = { op: 'del', key: p.key }
      break
    case 'clear':
      c = { op: 'clear' }
      break
    case 'ping':
      c = { op: 'ping', seq: typeof p.seq === 'number' && Number.isSafeInteger(p.seq) ? p.seq : 0 }
      break
    case 'snapshot': {
      if (p.state === null || typeof p.state !== 'object' || Array.isArray(p.state)) return undefined
      c = { op: 'snapshot', state: { ...(p.state as Record<string, string>) } }
      break
    }
    default:
      return undefined
  }
  return invalidReason(c) === undefined ? c : undefined
}

/** A command as one line of text (as it would be typed). */
export function formatCommand(c: Command): string {
  switch (c.op) {
    case 'set':
      return `set ${c.key} ${c.value}`
    case 'del':
      return `del ${c.key}`
    case 'clear':
      return 'clear'
    case 'ping':
      return 'ping'
    case 'snapshot':
      return `snapshot (${Object.keys(c.state).length} keys)`
  }
}
