/**
 * Everything the remote control reports. `--json` prints the events as they
 * are (one per line); a terminal gets {@link render}. Pure.
 */
import { formatCommand, type Command, type State } from './commands.js'
import { formatState } from './state.js'

export type RemoteEvent =
  | { ev: 'started'; id: string; priority: number; loopbackOnly: boolean }
  | { ev: 'peer'; id: string; state: 'joined' | 'left' }
  | { ev: 'leader'; id?: string; term: number; role: string }
  /** This node, as leader, sent a command (and applied it itself). */
  | { ev: 'sent'; command: Command; term: number; delivered: number; failed: number; state: State }
  /** A typed command this node could not send: it does not lead. */
  | { ev: 'rejected'; command: Command; reason: 'not-leader'; leader?: string }
  | { ev: 'applied'; from: string; term: number; command: Command; state: State }
  | { ev: 'ignored'; from: string; term?: number; currentTerm: number; reason: string; command?: Command }
  | { ev: 'pong'; from: string; seq: number }
  | { ev: 'state'; state: State; role: string; term: number }
  | { ev: 'peers'; peers: Array<{ id: string; state: string; leader: boolean; rttMs?: number }> }
  | { ev: 'lead'; ok: boolean; term?: number; error?: string }
  | { ev: 'stepdown'; ok: boolean; leader?: string; error?: string }
  | { ev: 'help' }
  | { ev: 'error'; message: string }
  | { ev: 'stopped' }

export const HELP =
  'as leader: set KEY VALUE, del KEY, clear, ping (every follower applies them); any node: /lead takes over, /stepdown hands over, /state, /peers, /quit'

export const shortId = (id: string | undefined): string => (id === undefined ? '?' : id.length > 12 ? `${id.slice(0, 8)}…` : id)

export function render(e: RemoteEvent): string {
  switch (e.ev) {
    case 'started':
      return `* node ${shortId(e.id)} (priority ${e.priority}), ${e.loopbackOnly ? 'looking for peers on this machine (loopback; --lan for the network)' : 'looking for peers on the network'}. /help for commands`
    case 'peer':
      return `* peer ${shortId(e.id)} ${e.state}`
    case 'leader':
      if (e.role === 'leader') return `* you lead (term ${e.term}): type commands, every follower applies them`
      if (e.role === 'candidate') return `* standing for leader (term ${e.term})`
      if (e.id === undefined) return `* no leader yet (term ${e.term})`
      return `* ${shortId(e.id)} leads (term ${e.term}); you follow. /lead takes over`
    case 'sent':
      return `> ${formatCommand(e.command)} (term ${e.term}, to ${e.delivered} follower(s)${e.failed > 0 ? `, ${e.failed} failed` : ''})  state: ${formatState(e.state)}`
    case 'rejected':
      return `! not sent: you do not lead (${e.leader !== undefined ? `${shortId(e.leader)} does` : 'nobody does'}). /lead takes over`
    case 'applied':
      return e.command.op === 'ping' ? `< ping from ${shortId(e.from)} (term ${e.term}): pong sent` : `< ${formatCommand(e.command)} from ${shortId(e.from)} (term ${e.term})  state: ${formatState(e.state)}`
    case 'ignored':
      return `! ignored ${e.command !== undefined ? `"${formatCommand(e.command)}"` : 'a message'} from ${shortId(e.from)}: ${
        e.reason === 'stale' ? `term ${e.term ?? '?'} is not the current leader's (term ${e.currentTerm})` : e.reason === 'not-from-leader' ? 'not sent as leader' : e.reason
      }`
    case 'pong':
      return `< pong from ${shortId(e.from)}`
    case 'state':
      return `* state: ${formatState(e.state)} (you are ${e.role === 'leader' ? 'the leader' : 'a follower'}, term ${e.term})`
    case 'peers':
      return [`* ${e.peers.filter((p) => p.state === 'ready').length} peer(s) connected`, ...e.peers.map((p) => `*   ${shortId(p.id)} ${p.state}${p.rttMs !== undefined ? `, ${p.rttMs.toFixed(1)} ms` : ''}${p.leader ? ', leader' : ''}`)].join('\n')
    case 'lead':
      return e.ok ? `* you lead now (term ${e.term ?? '?'})` : `! could not take over: ${e.error ?? 'unknown error'}`
    case 'stepdown':
      return e.ok ? `* stepped down; ${e.leader !== undefined ? `${shortId(e.leader)} leads` : 'no leader yet'}` : `! could not step down: ${e.error ?? 'unknown error'}`
    case 'help':
      return `* ${HELP}`
    case 'error':
      return `! ${e.message}`
    case 'stopped':
      return '* bye'
  }
}
