/**
 * The chat's logic, without I/O: what a typed line means, what goes on the
 * wire and what is accepted from it, who joined or left, and how every event
 * is shown. `main.ts` wires these to the mesh, stdin and stdout.
 */

/** The reliable channel chat lines travel on (exactly once, in order per sender). */
export const CHAT_CHANNEL = 'chat'
/** A reliable channel on which each side tells a newly connected peer its name. */
export const HELLO_CHANNEL = 'chat-hello'

export const MAX_TEXT = 4000

/** What a typed line asks for. */
export type Input =
  | { kind: 'say'; text: string }
  | { kind: 'peers' }
  | { kind: 'lead' }
  | { kind: 'quit' }
  | { kind: 'help' }
  | { kind: 'empty' }
  | { kind: 'unknown'; command: string }

export function parseInput(line: string): Input {
  const text = line.replace(/\r$/, '')
  const trimmed = text.trim()
  if (trimmed === '') return { kind: 'empty' }
  // "//text" sends a line that starts with a slash
  if (trimmed.startsWith('//')) return { kind: 'say', text: trimmed.slice(1) }
  if (!trimmed.startsWith('/')) return { kind: 'say', text: trimmed }
  const command = trimmed.split(/\s+/)[0]!.toLowerCase()
  switch (command) {
    case '/peers':
      return { kind: 'peers' }
    case '/lead':
      return { kind: 'lead' }
    case '/quit':
    case '/exit':
      return { kind: 'quit' }
    case '/help':
    case '/?':
      return { kind: 'help' }
    default:
      return { kind: 'unknown', command }
  }
}

export interface ChatPayload {
  name: string
  text: string
}

/** A chat message as received: accepted only if it has the expected shape (peers may run other versions). */
export function decodeChat(payload: unknown): ChatPayload | undefined {
  if (payload === null || typeof payload !== 'object') return undefined
  const { name, text } = payload as Record<string, unknown>
  if (typeof name !== 'string' || typeof text !== 'string' || name === '' || text.length > MAX_TEXT) return undefined
  return { name: sanitize(name.slice(0, 32)), text: sanitize(text) }
}

/** A hello as received: the peer's name. */
export function decodeHello(payload: unknown): string | undefined {
  if (payload === null || typeof payload !== 'object') return undefined
  const { name } = payload as Record<string, unknown>
  return typeof name === 'string' && name !== '' ? sanitize(name.slice(0, 32)) : undefined
}

/** No terminal control sequences from the network. */
export function sanitize(text: string): string {
  // eslint-disable-next-line no-control-regex -- replacing control characters is the point
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f\u009b]/g, '?')
}

/** Peers that became ready or stopped being ready between two views of the mesh. */
export function diffReady(previous: ReadonlySet<string>, peers: Iterable<{ id: string; state: string }>): { joined: string[]; left: string[]; ready: Set<string> } {
  const ready = new Set<string>()
  for (const p of peers) if (p.state === 'ready') ready.add(p.id)
  return { joined: [...ready].filter((id) => !previous.has(id)), left: [...previous].filter((id) => !ready.has(id)), ready }
}

export const shortId = (id: string | undefined): string => (id === undefined ? '?' : id.length > 12 ? `${id.slice(0, 8)}…` : id)

export interface PeerRow {
  id: string
  name?: string
  state: string
  leader: boolean
  rttMs?: number
}

/** Everything the chat reports; `--json` prints these as they are, the terminal gets {@link render}. */
export type ChatEvent =
  | { ev: 'started'; id: string; name: string; loopbackOnly: boolean }
  | { ev: 'joined'; id: string; name: string }
  | { ev: 'left'; id: string; name?: string }
  | { ev: 'chat'; from: string; name: string; text: string }
  | { ev: 'sent'; text: string; delivered: number; failed: number }
  | { ev: 'peers'; self: { id: string; name: string; leader: boolean }; peers: PeerRow[] }
  | { ev: 'leader'; id?: string; name?: string; term: number; role: string }
  | { ev: 'lead'; ok: boolean; term?: number; error?: string }
  | { ev: 'help' }
  | { ev: 'error'; message: string }
  | { ev: 'stopped' }

export const HELP = 'type a line to send it to everyone; /peers lists who is here, /lead makes you the leader, /quit leaves (//text sends a line starting with /)'

/** One event as terminal text (without the trailing newline). */
export function render(e: ChatEvent): string {
  switch (e.ev) {
    case 'started':
      return `* you are ${e.name} (${shortId(e.id)}), ${e.loopbackOnly ? 'looking for peers on this machine (loopback; --lan for the network)' : 'looking for peers on the network'}. /help for commands`
    case 'joined':
      return `* ${e.name} joined`
    case 'left':
      return `* ${e.name ?? shortId(e.id)} left`
    case 'chat':
      return `${e.name}: ${e.text}`
    case 'sent':
      return e.delivered === 0 && e.failed === 0 ? '* (nobody else is here yet: nobody got that)' : e.failed > 0 ? `* not delivered to ${e.failed} peer(s)` : ''
    case 'peers': {
      const lines = [`* ${e.peers.filter((p) => p.state === 'ready').length} peer(s) connected; you are ${e.self.name}${e.self.leader ? ' (leader)' : ''}`]
      for (const p of e.peers) {
        const rtt = p.rttMs !== undefined ? `, ${p.rttMs.toFixed(1)} ms` : ''
        lines.push(`*   ${p.name ?? '(no name yet)'} ${shortId(p.id)} ${p.state}${rtt}${p.leader ? ', leader' : ''}`)
      }
      return lines.join('\n')
    }
    case 'leader':
      if (e.role === 'leader') return `* you lead now (term ${e.term})`
      if (e.role === 'candidate') return `* standing for leader (term ${e.term})`
      if (e.id === undefined) return `* no leader yet (term ${e.term})`
      return `* ${e.name ?? shortId(e.id)} leads (term ${e.term})`
    case 'lead':
      return e.ok ? `* you are the leader (term ${e.term ?? '?'})` : `* could not become leader: ${e.error ?? 'unknown error'}`
    case 'help':
      return `* ${HELP}`
    case 'error':
      return `! ${e.message}`
    case 'stopped':
      return '* bye'
  }
}
