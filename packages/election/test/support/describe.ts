/** Short, readable renderings of ids, views, messages, inputs and outputs for simulation traces. */
import type { CoreInput, CoreOutput, ElectionMessage, LeaderView } from '../../src/index.js'

export function short(id: string): string {
  return id.slice(0, 4)
}

export function fmtView(v: LeaderView): string {
  return `${v.role}(${v.id !== undefined ? short(v.id) : '-'},${v.term})`
}

function describeMessage(m: ElectionMessage): string {
  switch (m.kind) {
    case 'claim':
      return `claim(${m.claim.term},${short(m.claim.leader)}${m.reply ? ',reply' : ''})`
    case 'ack':
      return `ack(${m.term},${short(m.leader)})`
    case 'heartbeat':
      return `hb(${m.term})`
    case 'handover':
      return `handover(${m.term},${m.successor !== undefined ? short(m.successor) : '-'})`
  }
}

export function describeInput(i: CoreInput): string {
  switch (i.type) {
    case 'peer-up':
      return `up ${short(i.peer)}${i.hello?.claim !== undefined ? ` hello(${i.hello.term},${short(i.hello.claim.leader)},${i.hello.role})` : ''}`
    case 'peer-down':
      return `down ${short(i.peer)}`
    case 'message':
      return `${short(i.from)}: ${describeMessage(i.message)}`
    case 'timer':
      return `timer ${i.name}`
    default:
      return i.type
  }
}

export function describeOutput(o: CoreOutput): string {
  switch (o.type) {
    case 'send':
      return `${short(o.to)}: ${describeMessage(o.message)}`
    case 'persist':
      return `persist(${o.state.term},${o.state.vote !== undefined ? short(o.state.vote.leader) : '-'})`
    case 'view':
      return `view ${fmtView(o.view)}`
    case 'settle':
      return `settle #${o.request} ${o.result.ok ? 'ok' : o.result.reason}`
    case 'leader-lost':
      return `lost ${short(o.leader)} (${o.reason})`
    case 'term':
      return `term ${o.term}`
    default:
      return o.type
  }
}
