/**
 * Leader election on a sandbox LAN: 5 devices in 5 network namespaces on one
 * bridge, real mDNS, real QUIC. Partitioned 3/2, each side ends with exactly
 * one leader of its own; healed, all 5 agree on one leader, the one with the
 * higher term. Needs root (CI has it); elsewhere it skips with the reason.
 */
import { createSandboxLan, sandboxAvailable, type SandboxLan } from '@meshkit/testing'
import { afterEach, describe, expect, test } from 'vitest'
import { deviceGroup, peerStates, readyPeers, startDevices, type Device } from '../mesh/harness.js'
import { agreed, doubleVotes, splitTerms, type Agreed } from './harness.js'

const sandbox = sandboxAvailable()
if (!sandbox.ok) process.stderr.write(`sandbox election suite skipped: ${sandbox.reason}\n`)

let lan: SandboxLan | undefined
afterEach(async () => {
  await lan?.destroy()
  lan = undefined
})

/** Resolves once no device of `side` reports any device of `other` as ready. */
async function cutOff(side: Device[], other: Device[], timeoutMs: number): Promise<void> {
  const ids = new Set(other.map((d) => d.id))
  const apart = (d: Device): boolean => ![...peerStates(d)].some(([id, state]) => ids.has(id) && state === 'ready')
  await Promise.all(side.map(async (d) => (apart(d) ? undefined : d.proc.waitFor('peer', () => apart(d), timeoutMs))))
}

/** The leader that wins a merge: the higher term, then the smaller id. */
const winner = (a: Agreed, b: Agreed): Agreed => (a.term !== b.term ? (a.term > b.term ? a : b) : a.id < b.id ? a : b)

describe.skipIf(!sandbox.ok)('leader election on a sandbox LAN with real mDNS', () => {
  test('5 hosts: one leader; partitioned 3/2, one leader per side; healed, one leader overall, the higher term', async () => {
    lan = await createSandboxLan({ hosts: 5 })
    const devices = await startDevices(deviceGroup(5, { lan }), 5)
    await Promise.all(devices.map((d) => readyPeers(d, 4, 20_000)))
    const first = await agreed(devices, 15_000)

    await lan.partition([
      [0, 1, 2],
      [3, 4],
    ])
    const sides = [devices.slice(0, 3), devices.slice(3)] as const
    await Promise.all([cutOff(sides[0], sides[1], 10_000), cutOff(sides[1], sides[0], 10_000)])
    const leaders = await Promise.all(sides.map((side) => agreed(side, 10_000, (a) => side.some((d) => d.id === a.id))))
    // the side that kept the old leader keeps its term; the other side elected in a higher one
    const kept = sides.findIndex((side) => side.some((d) => d.id === first.id))
    expect(leaders[kept]).toEqual(first)
    expect(leaders[1 - kept]!.term).toBeGreaterThan(first.term)

    await lan.heal()
    await Promise.all(devices.map((d) => readyPeers(d, 4, 30_000)))
    const expected = winner(leaders[0]!, leaders[1]!)
    const merged = await agreed(devices, 15_000, (a) => a.term >= expected.term)
    expect(merged.id).toBe(expected.id)
    // the sides elected in different terms (only the side without the leader elected)
    const procs = devices.map((d) => d.proc)
    expect([...doubleVotes(procs), ...splitTerms(procs)], 'two leaders in one term').toEqual([])
  }, 120_000)
})
