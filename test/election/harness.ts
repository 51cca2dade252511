/**
 * Election checks over mesh-node fixture processes (see test/mesh/harness.ts):
 * agreement on a confirmed leader, and "never two leaders in one term" over
 * every 'leader' event any device ever logged (killed processes included).
 */
import { lastLeader, waitForEvents, type JsonEvent, type JsonProcess } from '@meshkit/testing'
import type { Device, DeviceGroup } from '../mesh/harness.js'

export interface Agreed {
  id: string
  term: number
}

/** A view that names a leader that confirmed its term: this device leads it, or its heartbeat arrived. */
export const confirmed = (e: JsonEvent | undefined): boolean => e !== undefined && e.id !== undefined && (e.role === 'leader' || e.role === 'follower')

/** The leader every device agrees on right now (confirmed, same id and term, the leader itself among them says `leader`), or undefined. */
export function agreement(devices: Device[]): Agreed | undefined {
  const views = devices.map((d) => lastLeader(d.proc))
  const first = views[0]
  if (!confirmed(first)) return undefined
  if (!views.every((v) => confirmed(v) && v!.id === first!.id && v!.term === first!.term)) return undefined
  for (const [i, d] of devices.entries()) if ((d.id === first!.id) !== (views[i]!.role === 'leader')) return undefined
  return { id: first!.id as string, term: first!.term as number }
}

const describeViews = (devices: Device[]): string =>
  devices
    .map((d) => {
      const v = lastLeader(d.proc)
      return `${d.id.slice(0, 8)}: ${String(v?.id).slice(0, 8)}@${String(v?.term)}/${String(v?.role)}`
    })
    .join(', ')

/**
 * Resolves when every device reports the same confirmed leader in the same
 * term (and `accept` likes it); rejects after `timeoutMs` with every view.
 */
export async function agreed(devices: Device[], timeoutMs: number, accept: (a: Agreed) => boolean = () => true): Promise<Agreed> {
  return waitForEvents(
    devices.map((d) => d.proc),
    'leader',
    () => {
      const a = agreement(devices)
      return a !== undefined && accept(a) ? a : undefined
    },
    timeoutMs,
    () => `no agreed leader: ${describeViews(devices)}`,
  )
}

/**
 * term -> every leader id that any of `procs` reported as confirmed in that
 * term (each log from `from.get(proc)` on, default all), plus `known` leaders.
 *
 * A device that leads while it has no ready peer at all is a component of its
 * own (just started and not yet connected, or the last survivor): availability
 * mode lets it lead, and nobody follows it, so such a report is left out. A
 * restarted device that is still alone after the quiet period (500 ms, less
 * than the connection layer's 400 ms dial grace plus a dial and a discovery)
 * does exactly that, in the term that the others may be electing too; the
 * merge then resolves it to a higher term. Any term with two leaders reported
 * by connected devices still counts.
 */
export function leadersByTerm(procs: Iterable<JsonProcess>, from?: Map<JsonProcess, number>, known: Agreed[] = []): Map<number, Set<string>> {
  const byTerm = new Map<number, Set<string>>(known.map((a) => [a.term, new Set([a.id])]))
  for (const p of procs) {
    const ready = new Set<string>()
    const start = from?.get(p) ?? 0
    for (const [i, e] of p.events.entries()) {
      if (e.ev === 'peer') {
        if (e.state === 'ready') ready.add(e.id as string)
        else ready.delete(e.id as string)
      }
      if (i < start || e.ev !== 'leader' || !confirmed(e)) continue
      if (e.role === 'leader' && ready.size === 0) continue
      const term = e.term as number
      const ids = byTerm.get(term) ?? new Set<string>()
      ids.add(e.id as string)
      byTerm.set(term, ids)
    }
  }
  return byTerm
}

/** The terms in which two different leaders were reported (empty when the invariant holds). */
export function splitTerms(procs: Iterable<JsonProcess>, from?: Map<JsonProcess, number>, known: Agreed[] = []): string[] {
  return [...leadersByTerm(procs, from, known)].filter(([, ids]) => ids.size > 1).map(([term, ids]) => `term ${term}: ${[...ids].map((id) => id.slice(0, 8)).join(' and ')}`)
}

/** Spawns device `index` of the group (fresh, or again with the same storage) and waits for it to start. */
export async function spawnDevice(group: DeviceGroup, index: number, extra: Record<string, unknown> = {}): Promise<Device> {
  const proc = group.spawn(index, extra)
  const started = await proc.waitFor('started', () => true, 30_000)
  return { proc, id: started.id as string, index }
}

/**
 * Connections that dropped although neither end was stopped, killed or cut
 * off on purpose (`expectedGone`: ids whose loss the test caused): a device
 * reporting a peer it had ready as anything else. On a starved machine (every
 * process stalled past the 1 s QUIC idle timeout) this happens to all
 * connections at once, which partitions the mesh for real.
 */
export function unplannedLosses(procs: Iterable<JsonProcess>, expectedGone: ReadonlySet<string>): string[] {
  const out: string[] = []
  for (const p of procs) {
    const self = p.events.find((e) => e.ev === 'started')?.id as string | undefined
    const ready = new Set<string>()
    for (const e of p.events) {
      if (e.ev !== 'peer') continue
      const id = e.id as string
      if (e.state === 'ready') ready.add(id)
      else if (ready.delete(id) && !expectedGone.has(id) && (self === undefined || !expectedGone.has(self))) out.push(`${String(self).slice(0, 8)} lost ${id.slice(0, 8)} (${String(e.reason ?? e.state)})`)
    }
  }
  return out
}

/** Devices (by id, across restarts) that reported two different leaders for one term: a second vote, never allowed. */
export function doubleVotes(procs: Iterable<JsonProcess>): string[] {
  const votes = new Map<string, Map<number, string>>()
  const out: string[] = []
  for (const p of procs) {
    const self = p.events.find((e) => e.ev === 'started')?.id as string | undefined
    if (self === undefined) continue
    const mine = votes.get(self) ?? new Map<number, string>()
    votes.set(self, mine)
    for (const e of p.events) {
      if (e.ev !== 'leader' || !confirmed(e)) continue
      const had = mine.get(e.term as number)
      if (had !== undefined && had !== e.id) out.push(`${self.slice(0, 8)} in term ${String(e.term)}: ${had.slice(0, 8)} and ${(e.id as string).slice(0, 8)}`)
      mine.set(e.term as number, e.id as string)
    }
  }
  return out
}

/**
 * "Never two leaders in one term": no device reports two leaders for a term,
 * and no two devices report different leaders for a term (see
 * {@link leadersByTerm}). The second holds among devices that can talk; when
 * connections dropped that the test did not drop (a starved machine), the
 * components were real partitions, where availability mode may elect in the
 * same term on both sides, so only the first is checked and the reason is
 * printed.
 */
export function twoLeadersInATerm(procs: JsonProcess[], expectedGone: ReadonlySet<string>): string[] {
  const votes = doubleVotes(procs)
  const split = splitTerms(procs)
  if (split.length === 0) return votes
  const losses = unplannedLosses(procs, expectedGone)
  if (losses.length === 0) return [...votes, ...split]
  process.stderr.write(`note: ${split.join('; ')} after connections dropped that the test did not drop (${losses.slice(0, 4).join(', ')}${losses.length > 4 ? ', ...' : ''}): separate components, not checked\n`)
  return votes
}
